// The privacy page (dashboard/templates/privacy.html): each Copy button copies the
// text of the text area it names, and says so. The Clipboard API needs a secure
// context (HTTPS or localhost); elsewhere the text is selected and copied the old way.
;(() => {
  for (const button of document.querySelectorAll('button[data-copy]')) {
    const area = document.getElementById(button.dataset.copy)
    const status = document.querySelector(`[data-copied="${button.dataset.copy}"]`)
    const said = (text) => {
      if (status) status.textContent = text
    }
    button.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(area.value)
        said('Copied.')
      } catch (e) {
        area.focus()
        area.select()
        said(document.execCommand('copy') ? 'Copied.' : 'Selected: press Ctrl+C (⌘C) to copy.')
      }
    })
  }
})()
