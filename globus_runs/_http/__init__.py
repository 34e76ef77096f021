"""The network core: the attempt loop (``attempts``) and the library's connection pool."""
