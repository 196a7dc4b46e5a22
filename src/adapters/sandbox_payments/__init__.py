"""The sandbox payment gateway: no network, test cards decide the outcome."""
