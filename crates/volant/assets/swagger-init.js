// Swagger UI for Volant's OpenAPI document, served from the binary itself.
// Over two hundred operations: the tags start folded (expanded all at once, the
// page stopped rendering after the first tag), with a filter by tag.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    docExpansion: "none",
    filter: true,
  });
});
