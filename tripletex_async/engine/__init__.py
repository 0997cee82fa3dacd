"""The sync engine: companies × resources → windows → pages → rows → a sink.

Built on the client layer (`tripletex_async.client`) and the sinks; nothing below it
imports it (a test checks it). Private modules only; the public API is what
`tripletex_async` re-exports.
"""
