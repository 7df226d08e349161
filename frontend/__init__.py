"""The browser UI: server-rendered pages that call the API from small scripts."""
