"""The release domain: entity ids, states, the hierarchy and its rollups. Pure Python, no Temporal imports."""
