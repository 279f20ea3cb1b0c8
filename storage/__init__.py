"""Records, streaming hashing, the write-once object store and the catalog.

Storage knows nothing about HTTP, browsers or evidence rules: it keeps bytes under their
SHA-256, refuses to overwrite or delete them, and indexes the records.
"""
