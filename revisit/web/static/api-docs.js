// Starts Swagger UI on /api/docs; a file of its own so that the page needs no inline script.
window.ui = SwaggerUIBundle({ url: "/api/openapi.json", dom_id: "#swagger-ui" });
