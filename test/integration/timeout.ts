// Integration specs talk to real servers (first Temporal bundle, broker restarts): generous timeout.
jest.setTimeout(180_000);
