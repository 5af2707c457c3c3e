"""Products, and understanding the order messages retailers type about them."""
