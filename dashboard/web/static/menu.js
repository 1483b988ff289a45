// loendur dashboard: the header's menus on every page. The site switcher gets a search
// field (shown only with script, as it needs it) that narrows the list as one types;
// Enter opens the first site left. Menus close on Escape and on a click elsewhere.
(function () {
  'use strict';

  var menu = document.getElementById('site-menu');
  var input = document.getElementById('site-menu-search');
  if (menu && input) {
    var items = Array.prototype.slice.call(menu.querySelectorAll('li[data-site]'));
    input.parentNode.hidden = false;
    var narrow = function () {
      var q = input.value.trim().toLowerCase();
      items.forEach(function (li) { li.hidden = q !== '' && li.dataset.site.indexOf(q) < 0; });
    };
    input.addEventListener('input', narrow);
    input.addEventListener('keydown', function (e) {
      if (e.key !== 'Enter') return;
      e.preventDefault();
      var first = items.filter(function (li) { return !li.hidden; })[0];
      if (first) location.assign(first.querySelector('a').href);
    });
    menu.addEventListener('toggle', function () {
      if (menu.open) { input.value = ''; narrow(); input.focus(); }
    });
  }

  document.addEventListener('click', function (e) {
    document.querySelectorAll('details.menu[open]').forEach(function (d) {
      if (!d.contains(e.target)) d.open = false;
    });
  });
  document.addEventListener('keydown', function (e) {
    if (e.key !== 'Escape') return;
    document.querySelectorAll('details.menu[open]').forEach(function (d) {
      d.open = false;
      d.querySelector('summary').focus();
    });
  });
})();
