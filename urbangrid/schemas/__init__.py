"""Store schema as versioned SQL migrations, and the code tables as data."""
