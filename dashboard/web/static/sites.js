// loendur dashboard: the all-sites page. Fills each site's row from GET /api/v1/summary
// (visitors today and over 7 days against the period before, a 14-day trend line drawn
// as inline SVG, a flag on a site that received nothing in the last 24 hours) and
// filters the rows as one types in the search field. ES2017, no framework, no inline
// code (the page's Content-Security-Policy forbids it).
(function () {
  'use strict';

  var main = document.getElementById('main');
  if (!main || !main.dataset.allsites) return;

  var SVG = 'http://www.w3.org/2000/svg';
  var nf = new Intl.NumberFormat('en');
  var rows = Array.prototype.slice.call(document.querySelectorAll('#sites-table tbody tr'));
  var search = document.getElementById('site-search');

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // figure shows a value and its change against the period before.
  function figure(m, what) {
    var box = el('span', 'figure');
    box.appendChild(el('span', 'figure-value', nf.format(m.value)));
    var change = el('span', 'metric-change');
    if (m.change === null || m.change === undefined) {
      change.textContent = m.value > 0 ? 'new' : '–';
      change.className += ' flat';
    } else if (Math.round(m.change) === 0) {
      change.textContent = '±0 %';
      change.className += ' flat';
    } else {
      change.textContent = (m.change > 0 ? '↑ ' : '↓ ') + nf.format(Math.abs(Math.round(m.change))) + ' %';
      change.className += m.change > 0 ? ' good' : ' bad';
    }
    change.title = what + ', period before: ' + nf.format(m.previous);
    box.appendChild(change);
    return box;
  }

  // sparkline draws visitors per day as a polyline, today's point marked.
  function sparkline(values, label) {
    var w = 120, h = 32, pad = 3;
    var max = Math.max.apply(null, values.concat([1]));
    var step = values.length > 1 ? (w - 2 * pad) / (values.length - 1) : 0;
    var pts = values.map(function (v, i) {
      return [pad + i * step, h - pad - (h - 2 * pad) * v / max];
    });
    var svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('viewBox', '0 0 ' + w + ' ' + h);
    svg.setAttribute('width', w);
    svg.setAttribute('height', h);
    svg.setAttribute('class', 'spark');
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', label);
    var area = document.createElementNS(SVG, 'polygon');
    area.setAttribute('class', 'spark-area');
    area.setAttribute('points', pts.map(function (p) { return p.join(','); }).join(' ') +
      ' ' + (pad + (values.length - 1) * step) + ',' + (h - pad) + ' ' + pad + ',' + (h - pad));
    var line = document.createElementNS(SVG, 'polyline');
    line.setAttribute('class', 'spark-line');
    line.setAttribute('points', pts.map(function (p) { return p.join(','); }).join(' '));
    svg.appendChild(area);
    svg.appendChild(line);
    if (pts.length) {
      var dot = document.createElementNS(SVG, 'circle');
      var last = pts[pts.length - 1];
      dot.setAttribute('class', 'spark-dot');
      dot.setAttribute('cx', last[0]);
      dot.setAttribute('cy', last[1]);
      dot.setAttribute('r', 2.5);
      svg.appendChild(dot);
    }
    return svg;
  }

  function fill(s) {
    var tr = document.querySelector('#sites-table tr[data-site="' + CSS.escape(s.site) + '"]');
    if (!tr) return;
    var today = tr.querySelector('[data-col=today]');
    var week = tr.querySelector('[data-col=week]');
    var trend = tr.querySelector('[data-col=trend]');
    today.textContent = '';
    week.textContent = '';
    trend.textContent = '';
    today.appendChild(figure(s.today, 'Visitors today'));
    week.appendChild(figure(s.week, 'Visitors over the last 7 days'));
    trend.appendChild(sparkline(s.trend, 'Visitors per day over the last ' + s.trend.length + ' days: ' + s.trend.join(', ')));
    var flag = tr.querySelector('.flag');
    if (!s.has_events) {
      flag.textContent = 'not set up';
      flag.title = 'No event has ever arrived: open the site to see its tracker snippet.';
      flag.hidden = false;
      tr.dataset.state = 'new';
    } else if (s.quiet) {
      flag.textContent = 'nothing in 24 h';
      flag.title = 'No event arrived in the last 24 hours: is the tracker still on the site?';
      flag.hidden = false;
      tr.dataset.state = 'quiet';
    } else {
      flag.hidden = true;
      tr.dataset.state = 'live';
    }
  }

  function filterRows() {
    var q = search.value.trim().toLowerCase();
    var shown = 0;
    rows.forEach(function (tr) {
      var on = !q || tr.dataset.site.indexOf(q) >= 0;
      tr.hidden = !on;
      if (on) shown++;
    });
    document.getElementById('sites-none').hidden = shown > 0;
  }
  search.addEventListener('input', filterRows);
  // Enter opens the only (or first) site left.
  search.addEventListener('keydown', function (e) {
    if (e.key !== 'Enter') return;
    var first = rows.filter(function (tr) { return !tr.hidden; })[0];
    if (first) location.assign(first.querySelector('a').href);
  });

  fetch('/api/v1/summary', { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
    .then(function (res) {
      if (res.status === 401) { location.assign('/login?next=/sites'); throw new Error('signed out'); }
      return res.json().then(function (body) {
        if (!res.ok) throw new Error(body && body.error ? body.error : res.status + ' ' + res.statusText);
        return body;
      });
    })
    .then(function (body) { (body.sites || []).forEach(fill); main.dataset.loaded = 'true'; })
    .catch(function (err) {
      var p = document.getElementById('sites-error');
      p.textContent = 'Could not load the figures: ' + err.message;
      p.hidden = false;
    });
})();
