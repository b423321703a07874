"""The agent console: accounts, the HTTP API, the agents' Socket.IO namespace and the web UI."""
