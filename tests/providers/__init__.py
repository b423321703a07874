"""Local servers that speak the providers' documented APIs and sign their webhooks the providers' way.

Each runs on the test's event loop, records what Baton sent it, can be told to fail (an outage:
503s) or to answer too late, and posts signed webhooks to a live Baton. Baton is told a public
URL (as behind a proxy); the fake signs that URL, as the provider would, and posts to Baton's
real address, as the proxy would.
"""
