// Loaded first in <head> of a copy of the report page by check_page.sh: records
// every error the page raises, then, once everything has loaded, writes what it
// found into <pre id="dist2-check"> for the script to read from the dumped DOM.
window.dist2Errors = [];
window.addEventListener('error', function (e) {
  var what = e.message || (e.target && (e.target.src || e.target.href)) || 'a resource failed to load';
  window.dist2Errors.push(what);
}, true);
(function () {
  var original = console.error;
  console.error = function () {
    window.dist2Errors.push('console.error: ' + Array.prototype.join.call(arguments, ' '));
    original.apply(console, arguments);
  };
})();
window.addEventListener('load', function () {
  var out = [];
  var sections = document.querySelectorAll('section');
  out.push('sections ' + sections.length);
  sections.forEach(function (s) {
    var r = s.getBoundingClientRect();
    if (!(r.width > 0 && r.height > 0)) out.push('EMPTY section ' + s.id);
    else out.push('section ' + s.id);
  });
  var svgs = document.querySelectorAll('svg');
  out.push('svgs ' + svgs.length);
  svgs.forEach(function (g, i) {
    var b = g.getBBox(), r = g.getBoundingClientRect();
    var paths = g.querySelectorAll('path').length;
    if (!(b.width > 0 && b.height > 0 && r.width > 0 && r.height > 0)) out.push('EMPTY svg ' + i);
    if (paths === 0) out.push('EMPTY svg ' + i + ' has no series');
  });
  var images = document.querySelectorAll('img');
  out.push('images ' + images.length);
  images.forEach(function (im, i) {
    if (!(im.complete && im.naturalWidth > 0)) out.push('BROKEN image ' + i);
  });
  out.push('tables ' + document.querySelectorAll('table').length);
  window.dist2Errors.forEach(function (e) { out.push('ERROR ' + e); });
  var pre = document.createElement('pre');
  pre.id = 'dist2-check';
  pre.textContent = out.join('\n');
  document.body.appendChild(pre);
});
