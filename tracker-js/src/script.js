// loendur tracker: page views, single-page-app navigations, engagement (visible time and
// scroll depth), outbound links, file downloads and custom events; no cookie, no
// identifier. The snippet, the data-attributes and the JS API are in README.md.
//
// Budget: 1,300 bytes gzip -9 after minification, every feature included, which is why
// this file reads terse in places. esbuild minifies it for ES2017 into script.min.js
// (`go generate ./tracker-js`, committed); a test fails when that file is stale or over
// budget. Never edit script.min.js by hand.
;((d, nav, loc, now) => {
  // Everything runs inside try/catch: the tracker never throws into the page. A browser
  // without document.currentScript (too old) fails here and does nothing.
  try {
    var s = d.currentScript
    var ds = s.dataset
    // No console output at all unless the site sets data-debug.
    var log = 'debug' in ds ? console.log : () => {}
    // guard wraps each entry point that the page or the browser calls later.
    var guard = (f) => (a, b) => {
      try {
        f(a, b)
      } catch (e) {}
    }
    // A relative data-api is resolved against the script's address.
    var api = new URL(ds.api || '/api/event', s.src)
    // The visitor's choice is the only thing the tracker ever stores (localStorage of
    // the site's origin, one entry), and only when the visitor makes one:
    // loendur_optout=1 opted out or withdrew consent, =0 gave consent. Storage may be
    // disabled: then ask (below) keeps the choice for this page load only.
    var store = (method, value) => {
      try {
        return localStorage[method]('loendur_optout', value)
      } catch (e) {}
    }
    // data-consent="required": nothing is sent until the visitor consents. ask says
    // whether to hold back when no choice is stored.
    var required = ds.consent == 'required'
    var ask = required
    // data-exclude="/admin/*,/preview/*": paths, * matches anything.
    var exclude = ds.exclude && RegExp('^(' + ds.exclude.replace(/,\s*/g, '|').replace(/\*/g, '.*') + ')$')
    var download = 'downloads' in ds && /\.(pdf|(doc|xls|ppt)x?|csv|zip|gz|dmg|exe|msi|mp[34])$/i
    // Nothing is sent from this page load: automated browser, Global Privacy Control,
    // Do Not Track (unless data-dnt="false"), or a local page (unless data-allow-local).
    var off =
      nav.webdriver ||
      nav.globalPrivacyControl ||
      (nav.doNotTrack == 1 && ds.dnt != 'false') ||
      (/^(localhost|127\..*|)$/.test(loc.hostname) && !('allowLocal' in ds))

    // The page view being measured: its URL (without the hash unless data-hash), whether
    // its path is excluded, when it became visible, its deepest scroll, and whether its
    // engagement event went out (or is not to go: its page view was not sent). Only the
    // first page view sent carries the referrer.
    var counted, excluded, since, depth, done = 1, referrer = d.referrer

    // The body fields of the ingestion contract; undefined ones are left out by JSON.
    // Returns whether it was skipped.
    var send = (name, props, url = loc.href, referrer, engaged_ms, scroll, v) => {
      // A stored choice decides (1: no, 0: yes); without one, data-consent does.
      var skip = off || excluded || ((v = store('getItem')) ? v == 1 : ask)
      var body = { site: ds.site, name, url, referrer, width: innerWidth, props, engaged_ms, scroll }
      log(skip ? 'skip' : 'send', body)
      if (skip) return skip
      body = JSON.stringify(body)
      // A string body goes out as text/plain: a simple request, no CORS preflight; the
      // beacon outlives the page, so links never need preventDefault.
      nav.sendBeacon(api, body) || fetch(api, { method: 'POST', body, keepalive: 1 }).catch(log)
    }

    var measure = () => {
      depth = Math.max(depth, Math.min(100, ((scrollY + innerHeight) / d.documentElement.scrollHeight) * 100 + 0.5) | 0)
    }
    // One engagement event per page view: when the page is first hidden or left, or
    // when a single-page app moves on (before the next page view).
    var engage = () => {
      measure()
      if (done) return
      done = 1
      send('engagement', undefined, counted, undefined, since && now() - since, depth)
    }
    var page = () => {
      var u = loc.href.replace('hash' in ds ? '' : /#.*/, '')
      if (u == counted) return
      engage()
      counted = u
      excluded = exclude && exclude.test(loc.pathname)
      depth = 0
      since = d.hidden ? 0 : now()
      // A page view held back is not counted: the next call (consent(true), a history
      // change) tries it again.
      if ((done = send('pageview', undefined, undefined, referrer))) counted = 0
      else referrer = undefined
    }

    // data-loendur-event="Name" (+ data-loendur-prop-KEY="value") on any element; links
    // to other hosts (data-outbound) and to files (data-downloads).
    var click = (e) => {
      var el = e.target.closest('[data-loendur-event],a')
      if (!el) return
      var name = el.dataset.loendurEvent
      var props = {}
      if (name)
        for (var a of el.attributes) {
          var key = a.name.split('data-loendur-prop-')[1]
          if (key) props[key] = a.value
        }
      else if (el.host) {
        props.url = el.href
        name = download && download.test(el.pathname)
          ? 'File Download'
          : 'outbound' in ds && el.host != loc.host && 'Outbound Link: Click'
      }
      if (name) send(name, props)
    }

    // loendur('Signup', {props: {plan: 'pro'}}); calls made before the script loaded
    // wait in the stub's queue, loendur.q.
    var count = guard(page)
    var queued = (self.loendur || 0).q || []
    var loendur = (self.loendur = guard((name, options) => send(name, options && options.props)))
    // consent(true) stores the consent and sends the current page view if it was held
    // back (once: page() counts a URL once); consent(false) and optOut() store the
    // refusal, for every page of the site.
    loendur.consent = (yes) => {
      store('setItem', (ask = +!yes))
      if (yes) count()
    }
    // optIn() removes the stored choice: back to the site's default, which under
    // data-consent="required" is "not asked yet", not a consent.
    loendur.optOut = () => loendur.consent()
    loendur.optIn = () => store('removeItem', (ask = required))
    // forget() asks the collector to erase this browser's events on this site: a
    // Promise of the number erased, undefined when that failed; it never rejects. It
    // goes next to the event endpoint (…/api/forget), as a text/plain simple request.
    loendur.forget = () =>
      fetch(new URL('forget', api), { method: 'POST', body: JSON.stringify({ site: ds.site }) })
        .then((r) => r.json())
        .then((r) => r.erased, log)

    // Capture on window sees every click, scroll and visibilitychange first, even those
    // the page stops from propagating.
    var on = (type, f) => addEventListener(type, guard(f), 1)
    var patch = (m, original = history[m]) =>
      (history[m] = (a, b, c) => {
        original.call(history, a, b, c)
        count()
      })
    patch('pushState')
    patch('replaceState')
    on('popstate', page) // also fires on hash changes
    on('visibilitychange', () => (d.hidden ? engage() : (since = since || now())))
    on('pagehide', engage)
    on('scroll', measure)
    on('click', click)

    page()
    queued.map((args) => loendur(...args))
  } catch (e) {}
})(document, navigator, location, Date.now)
