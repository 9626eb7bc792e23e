"""Split by area: leads, opportunities, catalog (products, price books, quotes, orders),
activities."""
