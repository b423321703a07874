"""Customer channels: one module each, all normalised into `InboundMessage`."""
