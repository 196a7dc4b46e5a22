"""Use cases, ports, the unit of work and the message bus. Imports the domain only."""
