"""The WhatsApp channel, the HTTP server and the command line of Khaacho."""
