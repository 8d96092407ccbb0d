"""Stage 1: reading access logs into hits: formats, parsing, filters, sessions and the pipeline driver."""
