// Starts Swagger UI on /docs from the page's data- attribute,
// so the page needs no inline script (the node's Content-Security-Policy forbids it).
(function () {
  "use strict";
  var el = document.getElementById("apidocs");
  if (!el) { return; }
  var url = el.getAttribute("data-openapi-url");
  window.ui = window.SwaggerUIBundle({
    url: url,
    domNode: el,
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    validatorUrl: null
  });
})();
