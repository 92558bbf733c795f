"""Per-system config models and builders for the adapters added after HubSpot and Jira.

Each module `syncer/systems/<system>.py` holds the pydantic model of its config section (with a
`system: Literal["<system>"]` discriminator) and a `build(config, section, redis_url)` function that
reads the secret, makes the HttpClient and returns `(adapter, http_client)`.
"""
