// loendur dashboard: the report page. Hand-written, ES2017, no framework.
//
// State (period, filters, selected scroll page and funnel) lives in the URL query, so
// every view can be bookmarked and shared. Every report comes from the JSON API
// (/api/v1/stats/REPORT); tables link their rows to the same view with one more filter.
// Nothing here uses inline handlers or inline styles set through markup, so the page
// works under Content-Security-Policy: default-src 'self'.
(function () {
  'use strict';

  var main = document.getElementById('main');
  if (!main || !main.dataset.site) return;

  var SITE = main.dataset.site;
  var ADMIN = main.dataset.admin === 'true';
  var CSRF = main.dataset.csrf || '';
  var TZ = main.dataset.timezone || 'UTC';
  var CHART_ASSETS = main.dataset.chart === 'true';
  // A shared link's page (data-shared) reads its own API under the link's path, which
  // answers for its one site only, and offers CSV only when the link allows it.
  var SHARED = main.dataset.shared === 'true';
  var API = main.dataset.api || '/api/v1/stats/';
  var FUNNELS_API = main.dataset.funnels || '/api/v1/funnels';
  var CSV = main.dataset.csv !== 'false';
  var GEOIP = main.dataset.geoip === 'true';
  var ROWS_SHOWN = 10;
  var REALTIME_EVERY_MS = 15000;

  var PERIODS = ['today', 'yesterday', '7d', '30d', 'thismonth', 'lastmonth', '12mo', 'custom', 'day', 'month'];
  var DEFAULT_PERIOD = '7d';

  // Filter keys the API knows, with the words a chip shows.
  var FILTER_NAMES = {
    page: 'Page', entry_page: 'Entry page', exit_page: 'Exit page', source: 'Source', referrer: 'Referrer',
    utm_source: 'UTM source', utm_medium: 'UTM medium', utm_campaign: 'UTM campaign',
    country: 'Country', region: 'Region', city: 'City', device: 'Device', browser: 'Browser', os: 'OS',
    event: 'Event'
  };

  // Columns: header and format by field name. Unknown fields get a header made from
  // their name and a format guessed from it.
  var COLUMNS = {
    visitors: ['Visitors', 'num'], visits: ['Visits', 'num'], pageviews: ['Views', 'num'],
    views: ['Views', 'num'], entries: ['Entries', 'num'], exits: ['Exits', 'num'], events: ['Events', 'num'],
    count: ['Count', 'num'], exit_rate: ['Exit rate', 'pct'], bounce_rate: ['Bounce', 'pct'],
    time_on_page: ['Time on page', 'dur'], avg_time_on_page: ['Time on page', 'dur'], avg_time: ['Time on page', 'dur'],
    scroll_depth: ['Scroll', 'pct'], avg_scroll_depth: ['Scroll', 'pct'], avg_scroll: ['Scroll', 'pct'],
    visit_duration: ['Duration', 'dur'], conversion_rate: ['Conversion', 'pct'], share: ['Share', 'pct'],
    percentage: ['Share', 'pct']
  };

  // What a column measures, shown as its header's tooltip (and in the glossary of
  // "Where visitors leave").
  var EXPLAIN = {
    exit_rate: 'Exit rate: of this page’s views, the share that were the last of their visit.',
    exits: 'Exits: visits that ended on this page.',
    scroll_depth: 'Scroll: how far down the page its viewers scrolled, on average (100 % = the bottom).',
    avg_scroll_depth: 'Scroll: how far down the page its viewers scrolled, on average (100 % = the bottom).',
    time_on_page: 'Time on page: how long the page was visible, on average.',
    avg_time_on_page: 'Time on page: how long the page was visible, on average.',
    bounce_rate: 'Bounce rate: the share of visits that saw a single page and left.',
    visit_duration: 'Duration: average time from a visit’s first to its last event.',
    visitors: 'Visitors: people counted once in the period.',
    entries: 'Entries: visits that began on this page.'
  };
  // Columns a phone shows: the label, visitors and the figure a table is about (the
  // rest are hidden below 520 px rather than scrolled to).
  var KEY_COLUMNS = { visitors: true, exit_rate: true, events: true, conversion_rate: true, share: true, count: true };

  // Overview metrics in display order; lower is better for the bounce rate.
  var METRICS = [
    ['visitors', 'Unique visitors', 'num'], ['visits', 'Visits', 'num'], ['pageviews', 'Page views', 'num'],
    ['views_per_visit', 'Views per visit', 'dec'], ['bounce_rate', 'Bounce rate', 'pct'],
    ['visit_duration', 'Visit duration', 'dur']
  ];
  var LOWER_IS_BETTER = { bounce_rate: true };

  // The chart shows one metric at a time, the one whose card was clicked; each is a
  // field of the time series, with its kind (for the axis) and a line saying what it is.
  var CHART_METRICS = {
    visitors: ['Unique visitors', 'num', 'People counted once per period (a new daily salt makes the same person a new visitor each day).'],
    visits: ['Visits', 'num', 'Sessions with at least one page view; a visit ends after 30 minutes without activity.'],
    pageviews: ['Page views', 'num', 'Pages loaded, including reloads.'],
    views_per_visit: ['Views per visit', 'dec', 'Page views divided by visits.'],
    bounce_rate: ['Bounce rate', 'pct', 'Share of visits that saw a single page and left.'],
    visit_duration: ['Visit duration', 'dur', 'Average time from a visit’s first to its last event.']
  };
  var DEFAULT_METRIC = 'visitors';
  var COMPARES = ['previous', 'year', 'off'];
  var DEFAULT_COMPARE = 'previous';
  var INTERVALS = ['hour', 'day', 'week', 'month'];

  // Tabbed table cards. report: the API report; params: extra query; key: the row field
  // holding the label; filter: the filter key a click adds (default: key).
  var CARDS = {
    pages: [
      { id: 'top', label: 'Top pages', report: 'top-pages', key: 'page', empty: 'No page views in this period.' },
      { id: 'entry', label: 'Entry pages', report: 'entry-pages', key: 'page', filter: 'entry_page' }
    ],
    // Part of "Where visitors leave", beside scroll drop-off and funnels.
    exits: [
      { id: 'exit', label: 'Exit pages', report: 'exit-pages', key: 'page', filter: 'exit_page', empty: 'No visits ended in this period.' }
    ],
    sources: [
      { id: 'source', label: 'Sources', report: 'sources', key: 'source', none: 'Direct / none' },
      { id: 'referrer', label: 'Referrers', report: 'sources', params: { by: 'referrer' }, key: 'referrer', none: 'Direct / none' },
      { id: 'utm_source', label: 'UTM source', report: 'utm', params: { by: 'utm_source' }, key: 'utm_source', none: 'None' },
      { id: 'utm_medium', label: 'Medium', report: 'utm', params: { by: 'utm_medium' }, key: 'utm_medium', none: 'None' },
      { id: 'utm_campaign', label: 'Campaign', report: 'utm', params: { by: 'utm_campaign' }, key: 'utm_campaign', none: 'None' }
    ],
    locations: [
      { id: 'country', label: 'Countries', report: 'locations', params: { by: 'country' }, key: 'country', none: 'Unknown' },
      { id: 'region', label: 'Regions', report: 'locations', params: { by: 'region' }, key: 'region', none: 'Unknown' },
      { id: 'city', label: 'Cities', report: 'locations', params: { by: 'city' }, key: 'city', none: 'Unknown' }
    ],
    devices: [
      { id: 'device', label: 'Devices', report: 'devices', params: { by: 'device' }, key: 'device', none: 'Unknown' },
      { id: 'browser', label: 'Browsers', report: 'devices', params: { by: 'browser' }, key: 'browser', none: 'Unknown' },
      { id: 'os', label: 'Systems', report: 'devices', params: { by: 'os' }, key: 'os', none: 'Unknown' }
    ]
  };

  // ---- small helpers -------------------------------------------------------------

  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === 'text') el.textContent = v;
        else if (k === 'class') el.className = v;
        else el.setAttribute(k, v === true ? '' : String(v));
      });
    }
    for (var i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }
  function append(el, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(el, c); }); return; }
    el.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }
  function $(id) { return document.getElementById(id); }
  function cssVar(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }

  var nf = new Intl.NumberFormat('en');
  var nf1 = new Intl.NumberFormat('en', { maximumFractionDigits: 1 });
  var nf2 = new Intl.NumberFormat('en', { maximumFractionDigits: 2 });

  function isNum(v) { return typeof v === 'number' && isFinite(v); }
  function fmtNum(v) {
    if (!isNum(v)) return '–';
    if (Math.abs(v) >= 1e6) return nf1.format(v / 1e6) + 'M';
    if (Math.abs(v) >= 1e5) return nf1.format(v / 1e3) + 'k';
    return nf.format(Math.round(v * 100) / 100);
  }
  // Rates come from the API as percentages (0–100).
  function fmtPct(v) { return isNum(v) ? nf1.format(v) + ' %' : '–'; }
  function fmtDur(v) {
    if (!isNum(v)) return '–';
    var s = Math.round(v);
    if (s < 60) return s + 's';
    var m = Math.floor(s / 60);
    if (m < 60) return m + 'm ' + (s % 60) + 's';
    return Math.floor(m / 60) + 'h ' + (m % 60) + 'm';
  }
  function fmt(kind, v) {
    switch (kind) {
      case 'pct': return fmtPct(v);
      case 'dur': return fmtDur(v);
      case 'dec': return isNum(v) ? nf2.format(v) : '–';
      default: return fmtNum(v);
    }
  }
  function guessKind(key) {
    if (/rate|share|percent|conversion|scroll|dropoff|drop_off/.test(key)) return 'pct';
    if (/duration|time|seconds/.test(key)) return 'dur';
    return 'num';
  }
  function column(key) {
    var c = COLUMNS[key];
    if (c) return { key: key, title: c[0], kind: c[1] };
    var title = key.replace(/_/g, ' ');
    return { key: key, title: title.charAt(0).toUpperCase() + title.slice(1), kind: guessKind(key) };
  }

  // ---- state and URL -------------------------------------------------------------

  // Filter operators as the URL writes them, and as a chip says them.
  var OPS = { is: ['==', 'is'], is_not: ['!=', 'is not'], contains: ['~=', 'contains'] };
  // What an empty value is called in each dimension's rows (and so in its chip).
  var NONE_LABELS = { source: 'Direct / none', referrer: 'Direct / none', utm_source: 'None', utm_medium: 'None',
    utm_campaign: 'None', country: 'Unknown', region: 'Unknown', city: 'Unknown', device: 'Unknown', browser: 'Unknown', os: 'Unknown' };

  function parseFilters(s) {
    var out = [];
    (s || '').split(';').forEach(function (part) {
      var at = -1;
      var op = '';
      Object.keys(OPS).forEach(function (k) {
        var i = part.indexOf(OPS[k][0]);
        if (i > 0 && (at < 0 || i < at)) { at = i; op = k; }
      });
      if (at <= 0) return;
      var key = part.slice(0, at).trim();
      if (!FILTER_NAMES[key]) return;
      out.push({ key: key, op: op, value: part.slice(at + 2) });
    });
    return out;
  }
  function formatFilters(filters) {
    return filters.map(function (f) { return f.key + OPS[f.op || 'is'][0] + f.value; }).join(';');
  }

  function readState() {
    var q = new URLSearchParams(location.search);
    var period = q.get('period') || DEFAULT_PERIOD;
    if (PERIODS.indexOf(period) < 0) period = DEFAULT_PERIOD;
    var s = {
      period: period, from: q.get('from') || '', to: q.get('to') || '',
      filters: parseFilters(q.get('filters')),
      scroll: q.get('scroll') || '', funnel: q.get('funnel') || '',
      imported: q.get('imported') === '0' ? '0' : '',
      sample: q.get('sample') === 'off' ? 'off' : '',
      metric: q.get('metric') || DEFAULT_METRIC, compare: q.get('compare') || DEFAULT_COMPARE,
      interval: q.get('interval') || ''
    };
    if (!CHART_METRICS[s.metric]) s.metric = DEFAULT_METRIC;
    if (COMPARES.indexOf(s.compare) < 0) s.compare = DEFAULT_COMPARE;
    if (INTERVALS.indexOf(s.interval) < 0) s.interval = '';
    if (s.period === 'custom' && !(isDate(s.from) && isDate(s.to))) s.period = DEFAULT_PERIOD;
    return s;
  }
  function isDate(s) { return /^\d{4}-\d{2}-\d{2}$/.test(s); }

  // Query encoding that keeps a shared link readable: '/', '=', ':' and ',' stay as
  // they are; ';', '&', '#', '+' and the rest are escaped.
  function enc(v) {
    return encodeURIComponent(v).replace(/%2F/g, '/').replace(/%3D/g, '=').replace(/%3A/g, ':').replace(/%2C/g, ',');
  }
  function query(pairs) {
    return pairs.filter(function (p) { return p[1] !== '' && p[1] !== null && p[1] !== undefined; })
      .map(function (p) { return enc(p[0]) + '=' + enc(String(p[1])); }).join('&');
  }
  function periodPairs(s) {
    var p = [['period', s.period]];
    if (s.period === 'custom') p.push(['from', s.from], ['to', s.to]);
    return p;
  }
  // The page's own query string for a state.
  function pageQuery(s) {
    return query(periodPairs(s).concat([['filters', formatFilters(s.filters)], ['scroll', s.scroll], ['funnel', s.funnel],
      ['metric', s.metric === DEFAULT_METRIC ? '' : s.metric], ['compare', s.compare === DEFAULT_COMPARE ? '' : s.compare],
      ['interval', s.interval], ['imported', s.imported], ['sample', s.sample]]));
  }
  // The API query of a report for a state, plus extra parameters.
  function apiQuery(s, extra) {
    var pairs = [['site', SITE]].concat(periodPairs(s), [['filters', formatFilters(s.filters)], ['imported', s.imported],
      ['sample', s.sample]],
      s.compare === DEFAULT_COMPARE ? [] : [['compare', s.compare]]);
    if (extra) Object.keys(extra).forEach(function (k) { pairs.push([k, extra[k]]); });
    return query(pairs);
  }
  function csvURL(report, extra) {
    return API + report + '?' + apiQuery(state, extra) + '&format=csv';
  }

  function withFilter(s, key, value, op) {
    var filters = s.filters.filter(function (f) { return f.key !== key; });
    filters.push({ key: key, op: op || 'is', value: value });
    return Object.assign({}, s, { filters: filters });
  }

  var state = readState();

  // remember records a state in the URL (a new history entry) without reloading.
  function remember(next) {
    state = next;
    var q = pageQuery(state);
    history.pushState(null, '', location.pathname + (q ? '?' + q : ''));
  }

  // navigate records a state and reloads every report for it.
  function navigate(next) {
    remember(next);
    refresh();
  }

  // ---- the API -------------------------------------------------------------------

  var inflight = null; // AbortController of the current round of requests

  function apiError(res, body) {
    var msg = body && body.error ? body.error : res.status + ' ' + res.statusText;
    var err = new Error(msg);
    err.status = res.status;
    return err;
  }

  async function request(method, url, body, signal) {
    var headers = { Accept: 'application/json' };
    if (method !== 'GET') {
      headers['X-CSRF-Token'] = CSRF;
      if (body !== undefined) headers['Content-Type'] = 'application/json';
    }
    var res = await fetch(url, {
      method: method, headers: headers, credentials: 'same-origin', signal: signal,
      body: body === undefined ? undefined : JSON.stringify(body)
    });
    if (res.status === 401 && SHARED) {
      location.reload(); // the link's password is asked again
      throw new Error('locked');
    }
    if (res.status === 401) {
      location.assign('/login?next=' + encodeURIComponent(location.pathname + location.search));
      throw new Error('signed out');
    }
    var data = null;
    var text = await res.text();
    if (text) {
      try { data = JSON.parse(text); } catch (e) { data = null; }
    }
    if (!res.ok) throw apiError(res, data);
    return data;
  }

  function report(name, extra, signal) {
    return request('GET', API + name + '?' + apiQuery(state, extra), undefined, signal);
  }

  // ---- period picker, filters, menus ---------------------------------------------

  var periodSelect = $('period');
  var customRange = $('custom-range');
  var fromInput = $('from');
  var toInput = $('to');

  function ymd(d) {
    return d.getFullYear() + '-' + String(d.getMonth() + 1).padStart(2, '0') + '-' + String(d.getDate()).padStart(2, '0');
  }

  function syncControls() {
    periodSelect.value = state.period === 'day' ? 'today' : state.period === 'month' ? 'thismonth' : state.period;
    customRange.hidden = state.period !== 'custom';
    if (state.period === 'custom') {
      fromInput.value = state.from;
      toInput.value = state.to;
    }
    renderChips();
    document.querySelectorAll('a.site-link').forEach(function (a) {
      var q = query(periodPairs(state));
      a.href = '/sites/' + encodeURIComponent(a.dataset.site) + (q ? '?' + q : '');
    });
  }

  periodSelect.addEventListener('change', function () {
    var p = periodSelect.value;
    if (p === 'custom') {
      customRange.hidden = false;
      if (!fromInput.value || !toInput.value) {
        var to = new Date();
        var from = new Date(to.getTime() - 6 * 86400000);
        fromInput.value = ymd(from);
        toInput.value = ymd(to);
      }
      fromInput.focus();
      return;
    }
    navigate(Object.assign({}, state, { period: p, from: '', to: '', interval: '' }));
  });

  $('period-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var p = periodSelect.value;
    if (p !== 'custom') {
      navigate(Object.assign({}, state, { period: p, from: '', to: '', interval: '' }));
      return;
    }
    var from = fromInput.value;
    var to = toInput.value;
    if (!isDate(from) || !isDate(to) || from > to) {
      showError('Choose a start date on or before the end date.');
      return;
    }
    navigate(Object.assign({}, state, { period: 'custom', from: from, to: to, interval: '' }));
  });

  // A chip says what the rows say: "Direct / none", "Estonia (EE)".
  function filterText(f) {
    var v = f.value === '' ? (NONE_LABELS[f.key] || '(none)') : f.key === 'country' && (f.op || 'is') !== 'contains' ? countryName(f.value) : f.value;
    return (FILTER_NAMES[f.key] || f.key) + ' ' + OPS[f.op || 'is'][1] + ' ' + v;
  }

  function renderChips() {
    var ul = clear($('filters'));
    state.filters.forEach(function (f, i) {
      var text = filterText(f);
      ul.appendChild(h('li', { class: 'chip' },
        h('span', { class: 'chip-text', title: text, text: text }),
        h('button', { type: 'button', class: 'chip-remove', 'data-remove': i, 'aria-label': 'Remove filter: ' + text, text: '×' })));
    });
    if (state.filters.length > 1) {
      ul.appendChild(h('li', null, h('button', { type: 'button', class: 'clear', 'data-clear': 'all', text: 'Clear all filters' })));
    }
  }

  // The filter picker: any dimension, is / is not / contains, typed by hand.
  function setupPicker() {
    var toggle = $('filter-add');
    var form = $('filter-form');
    var key = $('filter-key');
    var op = $('filter-op');
    var value = $('filter-value');
    var hint = $('filter-hint');
    Object.keys(FILTER_NAMES).forEach(function (k) { key.appendChild(h('option', { value: k }, FILTER_NAMES[k])); });
    Object.keys(OPS).forEach(function (k) { op.appendChild(h('option', { value: k }, OPS[k][1])); });
    function explain() {
      var page = /page$/.test(key.value);
      hint.textContent = op.value === 'contains' ? 'Any part of the value, ignoring case.'
        : page ? 'A path; * stands for any part, e.g. /blog/*. Leave empty for none.'
          : key.value === 'country' ? 'A two-letter country code, e.g. EE. Leave empty for unknown.'
            : 'The value exactly as the rows show it. Leave empty for ' + (NONE_LABELS[key.value] || 'none') + '.';
    }
    key.addEventListener('change', explain);
    op.addEventListener('change', explain);
    toggle.addEventListener('click', function () {
      form.hidden = !form.hidden;
      toggle.setAttribute('aria-expanded', String(!form.hidden));
      if (!form.hidden) { explain(); key.focus(); }
    });
    $('filter-cancel').addEventListener('click', function () { form.hidden = true; toggle.setAttribute('aria-expanded', 'false'); toggle.focus(); });
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var v = value.value.trim();
      if (op.value === 'contains' && (!v || v.indexOf('*') >= 0)) { hint.textContent = 'Contains needs some plain text (no *).'; return; }
      if (/page$/.test(key.value) && op.value !== 'contains' && v && v.charAt(0) !== '/' && v.charAt(0) !== '*') { hint.textContent = 'A page is a path starting with /.'; return; }
      if (key.value === 'country' && op.value !== 'contains') v = v.toUpperCase();
      form.hidden = true;
      toggle.setAttribute('aria-expanded', 'false');
      value.value = '';
      navigate(withFilter(state, key.value, v, op.value));
    });
  }

  $('filters').addEventListener('click', function (e) {
    var btn = e.target.closest('button');
    if (!btn) return;
    if (btn.dataset.clear) {
      navigate(Object.assign({}, state, { filters: [] }));
      $('period').focus();
      return;
    }
    var i = Number(btn.dataset.remove);
    var filters = state.filters.filter(function (_, j) { return j !== i; });
    navigate(Object.assign({}, state, { filters: filters }));
    var next = document.querySelector('#filters button');
    (next || periodSelect).focus();
  });

  // Any row link adds its filter; modified clicks open the filtered view elsewhere.
  document.addEventListener('click', function (e) {
    var a = e.target.closest('a[data-filter-key]');
    if (!a || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(withFilter(state, a.dataset.filterKey, a.dataset.filterValue));
  });

  window.addEventListener('popstate', function () {
    state = readState();
    refresh();
  });

  function showError(msg) {
    var p = $('error');
    p.textContent = msg;
    p.hidden = !msg;
  }

  // ---- tables --------------------------------------------------------------------

  // labelKey finds the row field that names the row: the tab's key when present, else
  // the first text field.
  function labelKey(rows, key) {
    if (!rows.length || key in rows[0]) return key;
    var keys = Object.keys(rows[0]);
    for (var i = 0; i < keys.length; i++) if (typeof rows[0][keys[i]] === 'string') return keys[i];
    return key;
  }

  // Numeric columns in a fixed order (known fields first), whatever order the JSON has.
  var COLUMN_ORDER = ['visitors', 'visits', 'pageviews', 'views', 'events', 'count', 'entries', 'exits', 'exit_rate',
    'bounce_rate', 'time_on_page', 'avg_time_on_page', 'avg_time', 'scroll_depth', 'avg_scroll_depth', 'avg_scroll',
    'visit_duration', 'conversion_rate', 'share', 'percentage'];
  function valueColumns(rows, label, wanted) {
    if (!rows.length) return [];
    var keys = (wanted || Object.keys(rows[0])).filter(function (k) { return k !== label && isNum(rows[0][k]); });
    keys.sort(function (a, b) {
      var i = COLUMN_ORDER.indexOf(a);
      var j = COLUMN_ORDER.indexOf(b);
      return (i < 0 ? 99 : i) - (j < 0 ? 99 : j);
    });
    return keys.map(column);
  }

  function rowFilterLink(filterKey, value, shown) {
    var next = withFilter(state, filterKey, value);
    return h('a', {
      class: 'row-link', href: location.pathname + '?' + pageQuery(next),
      'data-filter-key': filterKey, 'data-filter-value': value, title: 'Filter every report by ' + shown
    }, shown);
  }

  // table renders rows with the label in the first column (a link that filters by it
  // when filterKey is set), a bar for each row's share of the largest, and the numbers.
  function table(rows, opts) {
    var label = labelKey(rows, opts.key);
    var cols = valueColumns(rows, label, opts.cols);
    var barKey = cols.length ? cols[0].key : null;
    var max = 0;
    rows.forEach(function (r) { if (barKey && isNum(r[barKey]) && r[barKey] > max) max = r[barKey]; });
    var tbody = h('tbody');
    // Other text fields give context to the label (the country of a region or city).
    var context = rows.length ? Object.keys(rows[0]).filter(function (k) { return k !== label && typeof rows[0][k] === 'string'; }) : [];
    rows.forEach(function (r, i) {
      var raw = r[label] === null || r[label] === undefined ? '' : String(r[label]);
      var shown = raw === '' ? (opts.none || '(none)') : label === 'country' ? countryName(raw) : raw;
      var ctx = context.map(function (k) { return k === 'country' ? countryName(r[k]) : r[k]; }).filter(Boolean);
      if (ctx.length && raw !== '') shown += ' · ' + ctx.join(', ');
      var cell = h('td', { class: 'label' });
      var bar = h('span', { class: 'bar-fill' });
      bar.style.width = max > 0 ? (100 * r[barKey] / max).toFixed(1) + '%' : '0';
      cell.appendChild(bar);
      cell.appendChild(opts.filter && raw.indexOf(';') < 0 ? rowFilterLink(opts.filter, raw, shown) : h('span', { class: 'row-link', title: shown }, shown));
      var tr = h('tr', i >= ROWS_SHOWN ? { hidden: true, 'data-extra': '1' } : null, cell);
      cols.forEach(function (c) { tr.appendChild(h('td', { class: KEY_COLUMNS[c.key] ? null : 'col-minor' }, fmt(c.kind, r[c.key]))); });
      tbody.appendChild(tr);
    });
    var head = h('tr', null, h('th', { scope: 'col' }, opts.labelTitle || FILTER_NAMES[label] || column(label).title));
    cols.forEach(function (c) {
      head.appendChild(h('th', { scope: 'col', class: (KEY_COLUMNS[c.key] ? '' : 'col-minor') + (EXPLAIN[c.key] ? ' explained' : ''), title: EXPLAIN[c.key] || null }, c.title));
    });
    var wrap = h('div', { class: 'table-wrap' },
      h('table', null, h('caption', { class: 'sr-only' }, opts.caption || ''), h('thead', null, head), tbody));
    var out = [wrap];
    if (rows.length > ROWS_SHOWN) {
      var more = h('button', { type: 'button', class: 'button small more', 'aria-expanded': 'false' }, 'Show all ' + rows.length);
      more.addEventListener('click', function () {
        var open = more.getAttribute('aria-expanded') !== 'true';
        tbody.querySelectorAll('tr[data-extra]').forEach(function (tr) { tr.hidden = !open; });
        more.setAttribute('aria-expanded', String(open));
        more.textContent = open ? 'Show top ' + ROWS_SHOWN : 'Show all ' + rows.length;
      });
      out.push(more);
    }
    return out;
  }

  var regionNames = null;
  try { regionNames = Intl.DisplayNames ? new Intl.DisplayNames(['en'], { type: 'region' }) : null; } catch (e) { regionNames = null; }
  // countryName turns an ISO code into "Estonia (EE)" where the browser knows it.
  function countryName(code) {
    if (!code || !/^[A-Z]{2}$/.test(code) || !regionNames) return code || '';
    try {
      var name = regionNames.of(code);
      return name && name !== code ? name + ' (' + code + ')' : code;
    } catch (e) {
      return code;
    }
  }

  function csvLink(report, extra, what) {
    if (!CSV) return document.createTextNode('');
    return h('a', { class: 'csv', href: csvURL(report, extra), download: '', 'aria-label': 'Export ' + what + ' as CSV' }, 'CSV');
  }

  function rowsOf(data) { return data && Array.isArray(data.rows) ? data.rows : []; }

  // ---- tabbed cards ----------------------------------------------------------------

  var activeTab = {}; // card → tab id

  function setupCard(name) {
    var card = $('card-' + name);
    var heading = card.querySelector('h2, h3');
    var tabs = CARDS[name];
    activeTab[name] = tabs[0].id;
    var actions = h('div', { class: 'card-actions' });
    var head = h('div', { class: 'card-head' }, heading, actions);
    var tablist = h('div', { class: 'tabs', role: 'tablist', 'aria-label': heading.textContent });
    tabs.forEach(function (t) {
      var on = t.id === activeTab[name];
      var b = h('button', { type: 'button', role: 'tab', id: 'tab-' + name + '-' + t.id, 'aria-selected': String(on), 'data-tab': t.id, 'aria-controls': 'panel-' + name, tabindex: on ? '0' : '-1' }, t.label);
      tablist.appendChild(b);
    });
    var panel = h('div', { id: 'panel-' + name, role: 'tabpanel', class: 'panel' });
    tablist.hidden = tabs.length < 2;
    clear(card);
    append(card, [head, tablist, panel]);
    tablist.addEventListener('click', function (e) {
      var b = e.target.closest('button[data-tab]');
      if (!b) return;
      selectTab(name, b.dataset.tab);
    });
    // Arrow keys move between tabs, as in any tab list.
    tablist.addEventListener('keydown', function (e) {
      if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
      var ids = tabs.map(function (t) { return t.id; });
      var i = ids.indexOf(activeTab[name]) + (e.key === 'ArrowRight' ? 1 : -1);
      i = (i + ids.length) % ids.length;
      selectTab(name, ids[i]);
      $('tab-' + name + '-' + ids[i]).focus();
      e.preventDefault();
    });
  }

  function selectTab(name, id) {
    activeTab[name] = id;
    var card = $('card-' + name);
    card.querySelectorAll('[role=tab]').forEach(function (b) {
      var on = b.dataset.tab === id;
      b.setAttribute('aria-selected', String(on));
      b.tabIndex = on ? 0 : -1;
    });
    loadCard(name, inflight ? inflight.signal : undefined);
  }

  async function loadCard(name, signal) {
    var card = $('card-' + name);
    var tab = CARDS[name].filter(function (t) { return t.id === activeTab[name]; })[0];
    var panel = $('panel-' + name);
    var actions = card.querySelector('.card-actions');
    panel.setAttribute('aria-labelledby', 'tab-' + name + '-' + tab.id);
    clear(actions).appendChild(csvLink(tab.report, tab.params, tab.label));
    card.setAttribute('aria-busy', 'true');
    try {
      var data = await report(tab.report, tab.params, signal);
      if (activeTab[name] !== tab.id) return;
      var rows = rowsOf(data);
      clear(panel);
      if (!rows.length) {
        panel.appendChild(h('p', { class: 'empty' }, tab.empty || 'Nothing in this period.'));
      } else {
        // The API names the filter key its rows' label answers to.
        var dim = data && data.dimension ? data.dimension : tab.filter || tab.key;
        append(panel, table(rows, { key: FILTER_NAMES[dim] && dim in rows[0] ? dim : tab.key, filter: dim, none: tab.none, caption: tab.label }));
      }
      if (name === 'locations' && !GEOIP) {
        panel.insertBefore(h('p', { class: 'notice', id: 'geoip-notice' }, 'No GeoIP database is configured, so locations stay unknown. ' +
          'Start loendur with --geoip PATH (or LOENDUR_GEOIP) naming a MaxMind-format City or Country database, ' +
          'e.g. GeoLite2 City (free with a MaxMind account) or DB-IP Lite City (mmdb); events counted from then on get a location.'), panel.firstChild);
      }
      if (name === 'pages' && tab.id === 'top') fillScrollPages(rows);
    } catch (err) {
      if (err.name === 'AbortError') return;
      clear(panel).appendChild(h('p', { class: 'empty error' }, 'Could not load ' + tab.label.toLowerCase() + ': ' + err.message));
    } finally {
      card.removeAttribute('aria-busy');
    }
  }

  // ---- overview and chart --------------------------------------------------------

  async function loadOverview(signal) {
    var card = $('card-overview');
    card.setAttribute('aria-busy', 'true');
    clear($('overview-actions')).appendChild(csvLink('timeseries', null, 'the time series'));
    try {
      var data = await report('overview', null, signal);
      renderMetrics(data || {});
      renderPeriodLabel(data || {});
      renderImported(data || {});
      renderSample(data || {});
    } catch (err) {
      if (err.name === 'AbortError') return;
      clear($('metrics')).appendChild(h('p', { class: 'empty error' }, 'Could not load the overview: ' + err.message));
      if (err.status === 400) showError(err.message);
    } finally {
      card.removeAttribute('aria-busy');
    }
  }

  // Imported aggregates (another tool's history) are part of the figures for days
  // without data of our own; the note says so and hides or shows them (?imported=0).
  function renderImported(data) {
    var old = $('imported-note');
    if (old) old.remove();
    var hidden = state.imported === '0';
    if (!data.includes_imported && !hidden) return;
    var note = h('p', { id: 'imported-note', class: 'muted small' }, hidden ? 'Imported data hidden. ' : 'Includes imported data. ');
    var toggle = h('button', { type: 'button', class: 'link' }, hidden ? 'Show imported data' : 'Hide imported data');
    toggle.addEventListener('click', function () { navigate(Object.assign({}, state, { imported: hidden ? '' : '0' })); });
    note.appendChild(toggle);
    $('metrics').after(note);
  }

  // A long period of a large site is counted from one visitor in N (sample_rate) and
  // scaled up; the note says so and offers exact figures (?sample=off), which take longer.
  function renderSample(data) {
    var old = $('sample-note');
    if (old) old.remove();
    var exact = state.sample === 'off';
    if (!(data.sample_rate > 1) && !exact) return;
    var note = h('p', { id: 'sample-note', class: 'muted small' }, exact ? 'Every visit counted. ' :
      'Estimated from 1 in ' + data.sample_rate + ' visitors. ');
    var toggle = h('button', { type: 'button', class: 'link' }, exact ? 'Estimate (faster)' : 'Count every visit');
    toggle.addEventListener('click', function () { navigate(Object.assign({}, state, { sample: exact ? '' : 'off' })); });
    note.appendChild(toggle);
    $('metrics').after(note);
  }

  function metricEntry(m) {
    if (m === null || m === undefined) return null;
    if (isNum(m)) return { value: m };
    return m;
  }

  function renderMetrics(data) {
    var metrics = data.metrics || {};
    var box = clear($('metrics'));
    // Without visits in the previous period there is nothing to compare with.
    var visitsBefore = metricEntry(metrics.visits);
    var nothingBefore = visitsBefore && visitsBefore.previous === 0;
    METRICS.forEach(function (m) {
      var e = metricEntry(metrics[m[0]]);
      if (!e) return;
      var change = e.change;
      var cls = 'flat';
      var text = 'no change';
      if (nothingBefore) {
        text = isNum(e.value) && e.value > 0 ? 'new' : '–';
        cls = 'flat';
      } else if (isNum(change) && Math.round(change) !== 0) {
        var up = change > 0;
        var good = LOWER_IS_BETTER[m[0]] ? !up : up;
        cls = good ? 'good' : 'bad';
        // The bounce rate changes in percentage points, the rest in percent.
        text = (up ? '↑ ' : '↓ ') + nf.format(Math.abs(Math.round(change))) + (m[2] === 'pct' ? ' pp' : ' %');
      } else if (!isNum(change)) {
        text = '–';
      }
      var prev = isNum(e.previous) ? 'Previous period: ' + fmt(m[2], e.previous) : '';
      if (state.compare === 'off') text = '';
      var chartable = CHART_METRICS[m[0]];
      box.appendChild(h(chartable ? 'button' : 'div', {
        class: 'metric' + (chartable ? ' chartable' : ''), 'data-metric': m[0], type: chartable ? 'button' : null,
        'aria-pressed': chartable ? String(state.metric === m[0]) : null,
        title: chartable ? chartable[2] + ' Click to chart it.' : null
      },
        h('span', { class: 'metric-name' }, m[1]),
        h('span', { class: 'metric-value' }, fmt(m[2], e.value)),
        h('span', { class: 'metric-change ' + cls, title: prev }, text || ' ',
          prev && text ? h('span', { class: 'sr-only' }, ' (' + prev + ')') : null)));
    });
  }

  function fmtDay(s) {
    if (!s) return '';
    var d = new Date(String(s).slice(0, 10) + 'T00:00:00Z');
    if (isNaN(d)) return String(s);
    return d.toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
  }
  function fmtRange(r) {
    if (!r || !r.from) return '';
    var a = fmtDay(r.from);
    var b = fmtDay(r.to);
    return a === b ? a : a + ' – ' + b;
  }
  function renderPeriodLabel(data) {
    var text = fmtRange(data.period);
    var cmp = state.compare === 'off' ? '' : fmtRange(data.comparison);
    if (cmp) text += ', compared with ' + cmp;
    $('period-label').textContent = text ? text + ' (' + TZ + ')' : '';
  }

  var plot = null;
  var lastSeries = null;

  // Bucket times: "2024-05-01", "2024-05-01 13:00:00" or ISO 8601 with an offset. A
  // time without an offset is wall-clock time in the site's zone: it is drawn as is.
  function parseTime(s) {
    if (isNum(s)) return { t: s > 1e11 ? s / 1000 : s, naive: true };
    var str = String(s).trim().replace(' ', 'T');
    if (str.length === 10) str += 'T00:00:00';
    var zoned = /(Z|[+-]\d{2}:?\d{2})$/.test(str);
    var t = Date.parse(zoned ? str : str + 'Z');
    return { t: t / 1000, naive: !zoned };
  }

  function timeKey(row) {
    var keys = ['time', 'bucket', 'date', 'day', 'hour', 'ts', 'timestamp'];
    for (var i = 0; i < keys.length; i++) if (keys[i] in row) return keys[i];
    var all = Object.keys(row);
    for (var j = 0; j < all.length; j++) if (typeof row[all[j]] === 'string') return all[j];
    return null;
  }

  var chartInterval = 'day';
  var chartIntervals = [];

  async function loadChart(signal) {
    var box = $('chart');
    try {
      var data = await report('timeseries', state.interval ? { interval: state.interval } : null, signal);
      lastSeries = rowsOf(data);
      chartInterval = (data && data.interval) || 'day';
      chartIntervals = (data && data.intervals) || [chartInterval];
      renderChartControls();
      drawChart();
    } catch (err) {
      if (err.name === 'AbortError') return;
      destroyPlot();
      clear(box).appendChild(h('p', { class: 'chart-empty' }, 'Could not load the time series: ' + err.message));
    }
  }

  function destroyPlot() {
    if (plot) { plot.destroy(); plot = null; }
  }

  var INTERVAL_NAMES = { hour: 'Hours', day: 'Days', week: 'Weeks', month: 'Months' };

  // renderChartControls shows the comparison choice and, where the period allows more
  // than one, the bucket choice (days, weeks, months).
  function renderChartControls() {
    var box = clear($('chart-controls'));
    var cmp = h('select', { id: 'compare', 'aria-label': 'Compare with' },
      h('option', { value: 'previous', selected: state.compare === 'previous' }, 'Previous period'),
      h('option', { value: 'year', selected: state.compare === 'year' }, 'Same period last year'),
      h('option', { value: 'off', selected: state.compare === 'off' }, 'No comparison'));
    cmp.addEventListener('change', function () { navigate(Object.assign({}, state, { compare: cmp.value })); });
    box.appendChild(h('label', { class: 'inline-field' }, 'Compare ', cmp));
    if (chartIntervals.length > 1) {
      var iv = h('select', { id: 'interval', 'aria-label': 'Show by' });
      chartIntervals.forEach(function (v) { iv.appendChild(h('option', { value: v, selected: v === chartInterval }, INTERVAL_NAMES[v] || v)); });
      iv.addEventListener('change', function () {
        remember(Object.assign({}, state, { interval: iv.value }));
        loadChart(inflight ? inflight.signal : undefined);
      });
      box.appendChild(h('label', { class: 'inline-field' }, 'By ', iv));
    }
  }

  // Choosing a card charts its metric (the figures stay; only the chart changes).
  $('metrics').addEventListener('click', function (e) {
    var b = e.target.closest('button[data-metric]');
    if (!b || !CHART_METRICS[b.dataset.metric]) return;
    remember(Object.assign({}, state, { metric: b.dataset.metric }));
    document.querySelectorAll('#metrics button[data-metric]').forEach(function (x) {
      x.setAttribute('aria-pressed', String(x === b));
    });
    drawChart();
  });

  // lastIndex is the latest bucket that has begun (the rest of today is null).
  function lastIndex(values) {
    for (var i = values.length - 1; i >= 0; i--) if (values[i] !== null) return i;
    return -1;
  }

  function drawChart() {
    var box = $('chart');
    var rows = lastSeries || [];
    destroyPlot();
    clear(box);
    clear($('chart-legend'));
    if (!window.uPlot) {
      if (CHART_ASSETS) box.appendChild(h('p', { class: 'notice' }, 'The chart library did not load; reload the page.'));
      else box.hidden = true;
      return;
    }
    if (!rows.length) {
      box.appendChild(h('p', { class: 'chart-empty' }, 'No visits in this period.'));
      return;
    }
    var key = state.metric;
    var meta = CHART_METRICS[key];
    var kind = meta[1];
    var compare = state.compare !== 'off' && ('previous_' + key) in rows[0];
    var tk = timeKey(rows[0]);
    var naive = true;
    var xs = rows.map(function (r) { var p = parseTime(r[tk]); naive = naive && p.naive; return p.t; });
    var DAY = 86400;
    var iv = chartInterval;
    var zone = naive ? 'UTC' : TZ;
    var dayFmt = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', timeZone: zone });
    var monthFmt = new Intl.DateTimeFormat('en-GB', { month: 'short', year: 'numeric', timeZone: zone });
    var hourFmt = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: zone });
    var longFmt = new Intl.DateTimeFormat('en-GB', iv === 'hour'
      ? { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: zone }
      : iv === 'month' ? { month: 'long', year: 'numeric', timeZone: zone }
        : { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', timeZone: zone });
    function when(t) {
      var s = longFmt.format(new Date(t * 1000));
      return iv === 'week' ? 'Week of ' + s : s;
    }
    var text = cssVar('--muted');
    var grid = cssVar('--grid');
    var width = Math.max(280, box.clientWidth);
    var small = width < 500;
    var cur = rows.map(function (r) { return isNum(r[key]) ? r[key] : null; });
    var prev = compare ? rows.map(function (r, i) { return cur[i] === null && !isNum(r['previous_' + key]) ? null : (isNum(r['previous_' + key]) ? r['previous_' + key] : null); }) : null;
    var prevDates = compare ? rows.map(function (r) { return r.previous_date; }) : null;
    var series = [{ label: meta[0], stroke: cssVar('--series-1'), width: 2, fill: cssVar('--series-1-fill'),
      points: { show: xs.length <= 45, size: 5 } }];
    if (compare) series.push({ label: meta[0] + ', ' + (state.compare === 'year' ? 'a year before' : 'period before'),
      stroke: cssVar('--muted'), width: 1.5, dash: [5, 5], points: { show: false } });
    var maxOf = function (u, min, max) {
      if (kind === 'pct') return [0, 100];
      return [0, max > 0 ? max * 1.1 : 1];
    };
    var opts = {
      width: width,
      height: small ? 220 : 280,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), naive ? 'Etc/UTC' : TZ); },
      scales: { x: { time: true }, y: { range: maxOf } },
      cursor: { drag: { x: false, y: false }, points: { size: 7 } },
      legend: { show: false },
      series: [{}].concat(series),
      axes: [
        { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, space: small ? 56 : 72,
          // Whole hours, days or calendar months (uPlot aligns multiples of 30 days to
          // months): a daily chart has no "12pm" ticks.
          incrs: iv === 'hour' ? [3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600, DAY]
            : iv === 'month' ? [30 * DAY, 60 * DAY, 90 * DAY, 180 * DAY, 365 * DAY]
              : [DAY, 2 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 60 * DAY, 90 * DAY, 180 * DAY, 365 * DAY],
          values: function (u, splits, axis, space, incr) {
            return splits.map(function (v) {
              var d = new Date(v * 1000);
              if (incr < DAY) return hourFmt.format(d);
              return incr >= 30 * DAY ? monthFmt.format(d) : dayFmt.format(d);
            });
          } },
        { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { show: false }, size: kind === 'dur' ? 64 : 52,
          values: function (u, vals) { return vals.map(function (v) { return kind === 'num' ? fmtNum(v) : fmt(kind, v); }); } }
      ],
      hooks: { setCursor: [function (u) { showLegend(u.cursor.idx); }] }
    };
    var data = [xs, cur].concat(compare ? [prev] : []);
    var legend = $('chart-legend');
    // The legend shows the point under the cursor, else the latest that has begun.
    function showLegend(idx) {
      if (idx === null || idx === undefined || cur[idx] === null && (!compare || prev[idx] === null)) idx = lastIndex(cur);
      clear(legend);
      if (idx < 0) return;
      legend.appendChild(h('span', { class: 'legend-when' }, when(xs[idx])));
      legend.appendChild(h('span', { class: 'legend-item' }, h('span', { class: 'swatch' }), meta[0] + ' ',
        h('strong', { id: 'legend-value' }, fmt(kind, cur[idx]))));
      if (compare) {
        var pd = prevDates[idx] ? fmtDay(prevDates[idx]) : '';
        legend.appendChild(h('span', { class: 'legend-item muted' }, h('span', { class: 'swatch dashed' }),
          (state.compare === 'year' ? 'A year before' : 'Before') + (pd ? ' (' + (iv === 'month' ? monthFmt.format(new Date(Date.parse(prevDates[idx] + 'T00:00:00Z'))) : pd) + ')' : '') + ' ',
          h('strong', { id: 'legend-previous' }, fmt(kind, prev[idx]))));
      }
    }
    plot = new uPlot(opts, data, box);
    showLegend(null);
    var last = lastIndex(cur);
    box.setAttribute('aria-label', meta[0] + ' by ' + iv + (last >= 0 ? '; latest, ' + when(xs[last]) + ': ' + fmt(kind, cur[last]) : ''));
    $('chart-hint').textContent = meta[2];
  }

  if (window.ResizeObserver) {
    var lastWidth = 0;
    new ResizeObserver(function () {
      var w = $('chart').clientWidth;
      if (plot && Math.abs(w - lastWidth) > 4) {
        lastWidth = w;
        plot.setSize({ width: Math.max(280, w), height: w < 500 ? 220 : 280 });
      }
    }).observe($('chart'));
  }
  if (window.matchMedia) {
    var scheme = window.matchMedia('(prefers-color-scheme: dark)');
    var redraw = function () { if (lastSeries) drawChart(); };
    if (scheme.addEventListener) scheme.addEventListener('change', redraw);
    else if (scheme.addListener) scheme.addListener(redraw);
  }

  // ---- scroll depth --------------------------------------------------------------

  var scrollSelect;
  var scrollPanel;
  var scrollActions;

  function setupScroll() {
    var card = $('card-scroll');
    scrollSelect = h('select', { id: 'scroll-page' });
    scrollPanel = h('div', { class: 'panel', 'aria-live': 'polite' });
    scrollActions = h('div', { class: 'card-actions' });
    var heading = card.querySelector('h2, h3');
    clear(card);
    append(card, [
      h('div', { class: 'card-head' }, heading, scrollActions),
      h('p', { class: 'hint' }, 'Share of a page’s viewers who scrolled at least this far.'),
      h('div', { class: 'field' }, h('label', { for: 'scroll-page' }, 'Page'), scrollSelect),
      scrollPanel
    ]);
    scrollSelect.addEventListener('change', function () {
      remember(Object.assign({}, state, { scroll: scrollSelect.value }));
      loadScroll(scrollSelect.value);
    });
  }

  // The page to show: the one chosen, else a page filter without wildcards, else the top page.
  function scrollPage(pages) {
    if (state.scroll) return state.scroll;
    var f = state.filters.filter(function (x) { return x.key === 'page' && (x.op || 'is') === 'is' && x.value.indexOf('*') < 0; })[0];
    if (f) return f.value;
    return pages.length ? pages[0] : '';
  }

  function fillScrollPages(rows) {
    var pages = rows.map(function (r) { return String(r.page !== undefined ? r.page : r[labelKey(rows, 'page')]); });
    var chosen = scrollPage(pages);
    if (chosen && pages.indexOf(chosen) < 0) pages.unshift(chosen);
    clear(scrollSelect);
    pages.forEach(function (p) { scrollSelect.appendChild(h('option', { value: p, selected: p === chosen }, p)); });
    loadScroll(chosen, inflight ? inflight.signal : undefined);
  }

  async function loadScroll(page, signal) {
    clear(scrollActions);
    if (!page) {
      clear(scrollPanel).appendChild(h('p', { class: 'empty' }, 'No page views in this period.'));
      return;
    }
    scrollActions.appendChild(csvLink('scroll', { page: page }, 'scroll depth'));
    try {
      var data = await report('scroll', { page: page }, signal);
      var rows = rowsOf(data);
      clear(scrollPanel);
      if (!rows.length) {
        scrollPanel.appendChild(h('p', { class: 'empty' }, 'No scroll data for this page yet.'));
        return;
      }
      // The first row (depth 0) is everyone who viewed the page.
      var base = rows[0].visitors || 0;
      if (!base) {
        scrollPanel.appendChild(h('p', { class: 'empty' }, 'No views of ' + page + ' in this period.'));
        return;
      }
      var list = h('ul', { class: 'steps-bars', 'aria-label': 'Scroll depth of ' + page });
      scrollPanel.appendChild(h('p', { class: 'hint', id: 'scroll-viewers' }, fmtNum(base) + ' visitors viewed ' + page));
      rows.filter(function (r) { return r.depth !== 0; }).forEach(function (r) {
        var depth = r.depth !== undefined ? r.depth : r.percent;
        var share = isNum(r.share) ? r.share : (base ? 100 * (r.visitors || 0) / base : 0);
        var fill = h('div', { class: 'step-fill' });
        fill.style.width = Math.max(0, Math.min(100, share)).toFixed(1) + '%';
        list.appendChild(h('li', null,
          h('div', { class: 'step-head' },
            h('span', { class: 'step-name' }, 'Reached ' + depth + ' %'),
            h('span', null, fmtPct(share) + ' · ' + fmtNum(r.visitors) + ' visitors')),
          h('div', { class: 'step-track' }, fill)));
      });
      scrollPanel.appendChild(list);
    } catch (err) {
      if (err.name === 'AbortError') return;
      clear(scrollPanel).appendChild(h('p', { class: 'empty error' }, 'Could not load scroll depth: ' + err.message));
    }
  }

  // ---- funnels -------------------------------------------------------------------

  var funnels = [];
  var funnelSelect;
  var funnelPanel;
  var funnelActions;
  var funnelForm;

  function setupFunnels() {
    var card = $('card-funnels');
    var heading = card.querySelector('h2, h3');
    funnelSelect = h('select', { id: 'funnel-select' });
    funnelPanel = h('div', { class: 'panel', id: 'funnel-report', 'aria-live': 'polite' });
    funnelActions = h('div', { class: 'card-actions' });
    clear(card);
    append(card, [
      h('div', { class: 'card-head' }, heading, funnelActions),
      h('div', { class: 'field', id: 'funnel-chooser' }, h('label', { for: 'funnel-select' }, 'Funnel'), funnelSelect),
      funnelPanel
    ]);
    funnelSelect.addEventListener('change', function () {
      remember(Object.assign({}, state, { funnel: funnelSelect.value }));
      renderFunnelActions();
      loadFunnelReport();
    });
    if (ADMIN) {
      funnelForm = buildFunnelForm();
      funnelForm.hidden = true;
      card.appendChild(funnelForm);
    }
  }

  function funnelList(data) {
    if (Array.isArray(data)) return data;
    if (data && Array.isArray(data.funnels)) return data.funnels;
    if (data && Array.isArray(data.rows)) return data.rows;
    return [];
  }

  async function loadFunnels(signal) {
    try {
      funnels = funnelList(await request('GET', FUNNELS_API + '?' + query([['site', SITE]]), undefined, signal));
    } catch (err) {
      if (err.name === 'AbortError') return;
      clear(funnelPanel).appendChild(h('p', { class: 'empty error' }, 'Could not load funnels: ' + err.message));
      return;
    }
    renderFunnelChooser();
    await loadFunnelReport(signal);
  }

  function currentFunnel() {
    var id = state.funnel;
    var f = funnels.filter(function (x) { return String(x.id) === id; })[0];
    return f || funnels[0] || null;
  }

  function renderFunnelChooser() {
    clear(funnelSelect);
    var cur = currentFunnel();
    funnels.forEach(function (f) {
      funnelSelect.appendChild(h('option', { value: f.id, selected: cur && f.id === cur.id }, f.name));
    });
    $('funnel-chooser').hidden = funnels.length === 0;
    renderFunnelActions();
  }

  function renderFunnelActions() {
    var cur = currentFunnel();
    clear(funnelActions);
    if (cur) funnelActions.appendChild(csvLink('funnel', { funnel: cur.id }, 'the funnel'));
    if (ADMIN) {
      var add = h('button', { type: 'button', class: 'button small', id: 'funnel-new', 'aria-expanded': 'false' }, 'New funnel');
      add.addEventListener('click', function () { editing = null; toggleFunnelForm(true); });
      funnelActions.appendChild(add);
      if (cur) {
        var edit = h('button', { type: 'button', class: 'button small', id: 'funnel-edit', 'aria-expanded': 'false' }, 'Edit');
        edit.addEventListener('click', function () { editFunnel(cur); });
        funnelActions.appendChild(edit);
        var del = h('button', { type: 'button', class: 'button small danger', id: 'funnel-delete' }, 'Delete');
        del.addEventListener('click', function () { deleteFunnel(cur); });
        funnelActions.appendChild(del);
      }
    }
  }

  async function loadFunnelReport(signal) {
    var f = currentFunnel();
    clear(funnelPanel);
    if (!f) {
      funnelPanel.appendChild(h('p', { class: 'empty' }, ADMIN
        ? 'No funnel yet. Define the steps visitors take, e.g. /pricing → /signup → the event “Signup”.'
        : 'No funnel has been defined for this site yet.'));
      return;
    }
    try {
      var data = await report('funnel', { funnel: f.id }, signal);
      renderFunnel(f, rowsOf(data));
    } catch (err) {
      if (err.name === 'AbortError') return;
      funnelPanel.appendChild(h('p', { class: 'empty error' }, 'Could not load the funnel: ' + err.message));
    }
  }

  function stepLabel(step) {
    if (!step) return '';
    if (typeof step === 'string') return step;
    var v = step.value || step.pattern || step.path || step.event || step.name || '';
    var t = step.type || step.kind || (step.event ? 'event' : 'page');
    return t === 'event' ? 'Event ' + v : v;
  }

  function renderFunnel(f, rows) {
    clear(funnelPanel);
    if (!rows.length) {
      funnelPanel.appendChild(h('p', { class: 'empty' }, 'Nobody entered this funnel in this period.'));
      return;
    }
    var first = rows[0].visitors || 0;
    var list = h('ol', { class: 'steps-bars', id: 'funnel-steps', 'aria-label': 'Steps of ' + f.name });
    rows.forEach(function (r, i) {
      var steps = f.steps || [];
      var name = r.label || r.name || r.step_name || stepLabel(r.step !== undefined && typeof r.step !== 'number' ? r.step : steps[i]) || 'Step ' + (i + 1);
      var conv = isNum(r.conversion) ? r.conversion : isNum(r.conversion_rate) ? r.conversion_rate : (first ? 100 * (r.visitors || 0) / first : 0);
      var drop = isNum(r.dropoff) ? r.dropoff : isNum(r.drop_off) ? r.drop_off : null;
      var fill = h('div', { class: 'step-fill' });
      fill.style.width = Math.max(0, Math.min(100, conv)).toFixed(1) + '%';
      list.appendChild(h('li', { class: 'funnel-step' },
        h('div', { class: 'step-head' },
          h('span', { class: 'step-name', title: name }, (i + 1) + '. ' + name),
          h('span', null, fmtNum(r.visitors) + ' visitors · ' + fmtPct(conv))),
        h('div', { class: 'step-track' }, fill),
        i > 0 && drop !== null ? h('div', { class: 'step-drop' }, fmtNum(drop) + ' dropped off after the step before' +
          (isNum(r.dropoff_rate) ? ' (' + fmtPct(r.dropoff_rate) + ')' : '')) : null));
    });
    funnelPanel.appendChild(list);
  }

  function stepRow(type, value) {
    var sel = h('select', { 'aria-label': 'Step kind', class: 'step-type' },
      h('option', { value: 'page', selected: type !== 'event' }, 'Page'),
      h('option', { value: 'event', selected: type === 'event' }, 'Event'));
    var input = h('input', { type: 'text', class: 'step-value', 'aria-label': 'Page path (with * wildcards) or event name', placeholder: '/pricing or /blog/*', value: value || '', required: true });
    var remove = h('button', { type: 'button', class: 'button small', 'aria-label': 'Remove this step' }, '×');
    var row = h('div', { class: 'step-row' }, sel, input, remove);
    sel.addEventListener('change', function () { input.placeholder = sel.value === 'event' ? 'Signup' : '/pricing or /blog/*'; });
    remove.addEventListener('click', function () {
      var list = row.parentNode;
      if (list.children.length > 2) { row.remove(); list.querySelector('input').focus(); }
    });
    return row;
  }

  function buildFunnelForm() {
    var steps = h('div', { class: 'steps', id: 'funnel-step-list' }, stepRow('page', ''), stepRow('page', ''));
    var addStep = h('button', { type: 'button', class: 'button small', id: 'funnel-add-step' }, 'Add step');
    var msg = h('p', { class: 'hint', role: 'status', id: 'funnel-form-msg' });
    var cancel = h('button', { type: 'button', class: 'button' }, 'Cancel');
    var form = h('form', { class: 'funnel-form', id: 'funnel-form', novalidate: true },
      h('h3', { id: 'funnel-form-title' }, 'New funnel'),
      h('div', { class: 'field' }, h('label', { for: 'funnel-name' }, 'Name'),
        h('input', { type: 'text', id: 'funnel-name', name: 'name', required: true, maxlength: 100 })),
      h('fieldset', null, h('legend', null, 'Steps, in order'),
        h('p', { class: 'hint' }, 'A page path (use * for any part, e.g. /blog/*) or a custom event name. Visitors count when they reach the steps in this order within one visit.'),
        steps, addStep),
      msg,
      h('div', { class: 'form-buttons' }, h('button', { type: 'submit', class: 'button primary', id: 'funnel-save' }, 'Save funnel'), cancel));
    addStep.addEventListener('click', function () {
      var row = stepRow('page', '');
      steps.appendChild(row);
      row.querySelector('input').focus();
    });
    cancel.addEventListener('click', function () { toggleFunnelForm(false); });
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      saveFunnel(form, msg);
    });
    return form;
  }

  var editing = null; // the funnel the form edits, or null for a new one

  // editFunnel opens the form filled with f's name and steps; saving replaces it.
  function editFunnel(f) {
    editing = f;
    $('funnel-form-title').textContent = 'Edit funnel “' + f.name + '”';
    $('funnel-name').value = f.name;
    var list = clear($('funnel-step-list'));
    (f.steps || []).forEach(function (st) { list.appendChild(stepRow(st.type, st.value)); });
    while (list.children.length < 2) list.appendChild(stepRow('page', ''));
    toggleFunnelForm(true);
  }

  function toggleFunnelForm(open) {
    if (open && !editing) $('funnel-form-title').textContent = 'New funnel';
    if (!open) editing = null;
    funnelForm.hidden = !open;
    var b = $('funnel-new');
    if (b) b.setAttribute('aria-expanded', String(open));
    if (open) $('funnel-name').focus();
    else if (b) b.focus();
  }

  async function saveFunnel(form, msg) {
    var name = form.querySelector('#funnel-name').value.trim();
    var steps = [];
    form.querySelectorAll('.step-row').forEach(function (row) {
      var v = row.querySelector('.step-value').value.trim();
      if (v) steps.push({ type: row.querySelector('.step-type').value, value: v });
    });
    if (!name || steps.length < 2) {
      msg.textContent = 'Give the funnel a name and at least two steps.';
      return;
    }
    msg.textContent = 'Saving…';
    try {
      var created = editing
        ? await request('PUT', '/api/v1/funnels/' + encodeURIComponent(editing.id) + '?' + query([['site', SITE]]), { site: SITE, name: name, steps: steps })
        : await request('POST', '/api/v1/funnels', { site: SITE, name: name, steps: steps });
      msg.textContent = '';
      form.reset();
      var list = form.querySelector('#funnel-step-list');
      clear(list);
      append(list, [stepRow('page', ''), stepRow('page', '')]);
      toggleFunnelForm(false);
      var id = created && (created.id || (created.funnel && created.funnel.id));
      navigate(Object.assign({}, state, { funnel: id ? String(id) : state.funnel }));
    } catch (err) {
      msg.textContent = 'Could not save: ' + err.message;
    }
  }

  async function deleteFunnel(f) {
    if (!window.confirm('Delete the funnel “' + f.name + '”?')) return;
    try {
      await request('DELETE', '/api/v1/funnels/' + encodeURIComponent(f.id) + '?' + query([['site', SITE]]));
      navigate(Object.assign({}, state, { funnel: '' }));
    } catch (err) {
      showError('Could not delete the funnel: ' + err.message);
    }
  }

  // ---- custom events -------------------------------------------------------------

  var eventsPanel;
  var eventsActions;
  var propsPanel;

  function setupEvents() {
    var card = $('card-events');
    var heading = card.querySelector('h2');
    eventsPanel = h('div', { class: 'panel' });
    eventsActions = h('div', { class: 'card-actions' });
    propsPanel = h('div', { class: 'panel', id: 'event-props' });
    clear(card);
    append(card, [h('div', { class: 'card-head' }, heading, eventsActions), eventsPanel, propsPanel]);
  }

  // loadEvents shows the custom events; under an event filter the API answers with that
  // event's properties instead (a row per property and value).
  async function loadEvents(signal) {
    var f = state.filters.filter(function (x) { return x.key === 'event' && (x.op || 'is') === 'is'; })[0];
    clear(eventsActions).appendChild(csvLink('events', null, f ? 'the properties of ' + f.value : 'custom events'));
    clear(propsPanel);
    try {
      var rows = rowsOf(await report('events', null, signal));
      clear(eventsPanel);
      if (!f) {
        if (!rows.length) eventsPanel.appendChild(h('p', { class: 'empty' }, 'No custom events in this period.'));
        else {
          append(eventsPanel, table(rows, { key: 'event', filter: 'event', labelTitle: 'Event', caption: 'Custom events' }));
          propsPanel.appendChild(h('p', { class: 'hint' }, 'Choose an event to see its properties.'));
        }
        return;
      }
      renderProps(f.value, rows);
    } catch (err) {
      if (err.name === 'AbortError') return;
      clear(eventsPanel).appendChild(h('p', { class: 'empty error' }, 'Could not load events: ' + err.message));
    }
  }

  function renderProps(event, rows) {
    var props = rows.filter(function (r) { return 'property' in r; });
    eventsPanel.appendChild(h('p', { class: 'hint' }, 'Properties of the event “' + event + '”. Remove the Event filter to see every event.'));
    if (!props.length) {
      eventsPanel.appendChild(h('p', { class: 'empty' }, 'No properties were sent with “' + event + '” in this period.'));
      return;
    }
    var groups = {};
    var order = [];
    props.forEach(function (r) {
      if (!groups[r.property]) { groups[r.property] = []; order.push(r.property); }
      groups[r.property].push({ value: r.value, visitors: r.visitors, events: r.events });
    });
    order.forEach(function (k) {
      eventsPanel.appendChild(h('h3', { class: 'props-title' }, k));
      append(eventsPanel, table(groups[k], { key: 'value', labelTitle: 'Value', caption: event + ' · ' + k }));
    });
  }

  // ---- realtime ------------------------------------------------------------------

  var realtimeTimer = null;

  async function loadRealtime(signal) {
    var card = $('card-realtime');
    var heading = card.querySelector('h2');
    try {
      var data = await request('GET', API + 'realtime?' + apiQuery(state), undefined, signal) || {};
      var rows = rowsOf(data);
      var now = data.totals && isNum(data.totals.visitors) ? data.totals.visitors
        : isNum(data.visitors) ? data.visitors : rows.reduce(function (a, r) { return a + (r.visitors || 0); }, 0);
      var minutes = data.totals && isNum(data.totals.minutes) ? data.totals.minutes : 5;
      clear(card);
      append(card, [
        h('div', { class: 'card-head' }, heading, h('div', { class: 'card-actions' }, csvLink('realtime', null, 'realtime pages'))),
        h('p', { class: 'realtime-now', id: 'realtime-now' }, h('span', { class: 'pulse', 'aria-hidden': 'true' }), fmtNum(now || 0)),
        h('p', { class: 'hint' }, 'visitors in the last ' + minutes + ' minutes'),
        rows.length ? table(rows, { key: 'page', filter: 'page', labelTitle: 'Current page', caption: 'Current pages' }) : null
      ]);
    } catch (err) {
      if (err.name === 'AbortError') return;
      clear(card);
      append(card, [heading, h('p', { class: 'empty error' }, 'Could not load realtime visitors: ' + err.message)]);
    }
  }

  function scheduleRealtime() {
    if (realtimeTimer) clearInterval(realtimeTimer);
    realtimeTimer = setInterval(function () {
      if (document.visibilityState === 'visible') loadRealtime();
    }, REALTIME_EVERY_MS);
  }

  // ---- dropped traffic -------------------------------------------------------------

  var DROP_REASONS = {
    bot: 'Bots and crawlers', excluded: 'Excluded in site settings', burst: 'Faster than a person reads',
    viewport: 'Impossible window size', referrer_spam: 'Referrer spam', gpc: 'Global Privacy Control', dnt: 'Do Not Track'
  };

  async function loadDropped(signal) {
    var card = $('card-dropped');
    var heading = card.querySelector('h2');
    try {
      var rows = rowsOf(await report('dropped', null, signal)).map(function (r) {
        return { reason: DROP_REASONS[r.reason] || r.reason, events: r.events };
      });
      clear(card);
      append(card, [heading, h('p', { class: 'hint' }, 'Events answered but not counted in this period (by UTC day; filters do not apply).'),
        rows.length ? table(rows, { key: 'reason', labelTitle: 'Reason', caption: 'Dropped traffic by reason' })
          : h('p', { class: 'empty' }, 'Nothing dropped in this period.')]);
    } catch (err) {
      if (err.name === 'AbortError') return;
      clear(card);
      append(card, [heading, h('p', { class: 'empty error' }, 'Could not load dropped traffic: ' + err.message)]);
    }
  }

  // ---- everything ----------------------------------------------------------------

  function refresh() {
    if (inflight) inflight.abort();
    inflight = new AbortController();
    var signal = inflight.signal;
    showError('');
    syncControls();
    loadOverview(signal);
    loadChart(signal);
    Object.keys(CARDS).forEach(function (name) { loadCard(name, signal); });
    loadFunnels(signal);
    loadEvents(signal);
    loadRealtime(signal);
    loadDropped(signal);
  }

  // ---- a site that never received an event ----------------------------------------

  var SETUP_EVERY_MS = 4000;

  // checkSetup asks whether the site has ever received an event. Until it has, the
  // page shows the tracker snippet instead of a report of zeros, and asks again every
  // few seconds; the first event turns it into the report.
  // Staff pages only: a shared link's page has no set-up card (its visitor cannot reach
  // the staff summary, and gets the report, zeros included).
  async function checkSetup() {
    if (!$('setup')) return;
    var first = true;
    for (;;) {
      var line;
      try {
        var data = await request('GET', '/api/v1/summary?' + query([['site', SITE]]));
        line = data && data.sites && data.sites[0];
      } catch (err) {
        $('setup-status').textContent = 'Could not check for page views: ' + err.message;
      }
      if (line && line.has_events) {
        if (!first) {
          main.classList.remove('setup-mode');
          $('setup').hidden = true;
          refresh();
        }
        return;
      }
      if (line && first) {
        main.classList.add('setup-mode');
        $('setup').hidden = false;
      }
      first = false;
      await new Promise(function (done) { setTimeout(done, SETUP_EVERY_MS); });
    }
  }

  if ($('copy-snippet')) $('copy-snippet').addEventListener('click', function () {
    var text = $('snippet').textContent;
    var status = $('copy-status');
    if (!navigator.clipboard) { status.textContent = 'Select the text and copy it.'; return; }
    navigator.clipboard.writeText(text).then(function () { status.textContent = 'Copied.'; },
      function () { status.textContent = 'Select the text and copy it.'; });
  });

  Object.keys(CARDS).forEach(setupCard);
  setupPicker();
  setupScroll();
  setupFunnels();
  setupEvents();
  refresh();
  scheduleRealtime();
  checkSetup();
})();
