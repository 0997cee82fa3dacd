"""The client layer: sessions, connections, rate limits, retries, errors, envelopes.

It talks to Tripletex and knows nothing of syncing: nothing here imports
`tripletex_async.engine`, `tripletex_async.sinks` or anything above them (a test checks
it). Private modules only; the public API is what `tripletex_async` re-exports.
"""
