// Import history on Sites and settings: the file goes up in chunks under the server's
// small body limit (PUT …/uploads/ID?offset=N), then the import runs on the server and
// this polls its state; the list of a site's imports, each deletable.
'use strict'
;(() => {
  const api = site => '/api/v1/sites/' + encodeURIComponent(site)

  async function call(box, method, path, body) {
    const res = await fetch(path, {method, body, credentials: 'same-origin',
      headers: {'X-CSRF-Token': box.dataset.csrf}})
    const text = await res.text()
    let data = {}
    try { data = text ? JSON.parse(text) : {} } catch (e) { data = {error: text} }
    if (!res.ok) throw new Error(data.error || res.statusText)
    return data
  }

  function status(box, text) { box.querySelector('.import-status').textContent = text }

  async function list(box) {
    const ul = box.querySelector('.import-list')
    const data = await call(box, 'GET', api(box.dataset.site) + '/imports')
    ul.replaceChildren()
    for (const im of data.imports) {
      const li = document.createElement('li')
      li.className = 'item row'
      const text = document.createElement('span')
      text.className = 'grow'
      text.textContent = `${im.file_name} (${im.source}): ${im.from} to ${im.to}, ${im.rows} rows` + (im.state === 'done' ? '' : ` [${im.state}]`)
      const del = document.createElement('button')
      del.type = 'button'
      del.textContent = 'Delete'
      del.addEventListener('click', async () => {
        if (!confirm(`Delete the import of ${im.file_name}? What it brought in is removed.`)) return
        try { await call(box, 'DELETE', api(box.dataset.site) + '/imports/' + im.id); status(box, 'Import deleted.') }
        catch (e) { status(box, 'Could not delete: ' + e.message) }
        list(box)
      })
      li.append(text, del)
      ul.append(li)
    }
    if (!data.imports.length) ul.textContent = 'No import yet.'
  }

  async function send(box, file) {
    const site = api(box.dataset.site)
    const bar = box.querySelector('.import-progress')
    bar.hidden = false
    bar.value = 0
    const up = await call(box, 'POST', `${site}/uploads?name=${encodeURIComponent(file.name)}&size=${file.size}`)
    for (let off = 0; off < file.size; off += up.chunk) {
      await call(box, 'PUT', `${site}/uploads/${up.id}?offset=${off}`, file.slice(off, off + up.chunk))
      bar.value = Math.round(100 * Math.min(off + up.chunk, file.size) / file.size)
      status(box, `Uploading: ${Math.round(bar.value)} %`)
    }
    let st = await call(box, 'POST', `${site}/uploads/${up.id}/finish`)
    bar.removeAttribute('value') // indeterminate while the server works
    while (st.state === 'checking' || st.state === 'writing') {
      status(box, `${st.state === 'checking' ? 'Checking' : 'Writing'}: ${st.rows} rows`)
      await new Promise(r => setTimeout(r, 1000))
      st = await call(box, 'GET', `${site}/uploads/${up.id}`)
    }
    bar.hidden = true
    if (st.state === 'done') status(box, `Imported ${st.import.rows} rows (${st.import.source}).`)
    else if (st.state === 'duplicate') status(box, 'This file was imported before: nothing changed.')
    else status(box, 'Not imported: ' + st.error)
  }

  for (const box of document.querySelectorAll('details.imports')) {
    box.addEventListener('toggle', () => { if (box.open) list(box).catch(e => status(box, e.message)) })
    box.querySelector('.import-form').addEventListener('submit', async ev => {
      ev.preventDefault()
      const file = ev.target.elements.file.files[0]
      if (!file) return
      const button = ev.target.querySelector('button')
      button.disabled = true
      try { await send(box, file) } catch (e) { status(box, 'Upload failed: ' + e.message) }
      button.disabled = false
      list(box).catch(() => {})
    })
  }
})()
