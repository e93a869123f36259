"""The HTTP edge: REST API, OpenAPI document, health and metrics, pages."""
