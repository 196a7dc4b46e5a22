"""HTTP request and response bodies (msgspec Structs), a module per area."""
