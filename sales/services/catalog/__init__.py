"""Writes of the catalog area: products and price books (`products`), price resolution
(`pricing`), quote arithmetic (`totals`), quotes (`quotes`), orders (`orders`) and order
imports (`order_import`)."""
