"""API endpoints for the catalog and a vendor's own prices and stock. A price change takes the
same checks as "price chini 115" in chat: a price per pack is turned into the base unit's, and
a price that moves more than 3× either way is refused until it is sent again with
`"confirm": true` (chat asks "is it right?" the same way)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field

from catalog.model import Product
from catalog.quantity import Quantity
from ledger import catalog_store, pricing, stock
from ledger.actors import is_staff
from ledger.errors import NotPermitted, UnknownProduct
from ledger.stock import VendorOffer
from web.api.errors import ApiError
from web.api.registry import ALL_ROLES, API, Call

MAX_PRODUCTS = 100
_SKU = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")


class ProductsQuery(BaseModel):
    q: str = Field(default="", max_length=100, description="words of a name, English or Nepali")
    limit: int = Field(default=50, ge=1, le=MAX_PRODUCTS)


class ProductOut(BaseModel):
    sku: str
    name_en: str
    name_ne: str
    category: str
    unit: str
    packs: dict[str, str] = Field(description="pack word → how many base units it holds")
    list_price_paisa: int


class ProductList(BaseModel):
    products: list[ProductOut]


class OffersQuery(BaseModel):
    vendor_id: int | None = Field(default=None, ge=1, le=2**62,
                                  description="staff only; a vendor reads their own")


class OfferOut(BaseModel):
    sku: str
    name_en: str
    name_ne: str
    unit: str
    price_paisa: int = Field(description="per base unit")
    stock_milli: int
    reserved_milli: int
    available_milli: int


class OfferList(BaseModel):
    offers: list[OfferOut]


class SkuPath(BaseModel):
    sku: str = _SKU


class PriceChange(BaseModel):
    price_paisa: int = Field(ge=1, le=10**12, description="per `unit` (default the base unit)")
    unit: str | None = Field(default=None, max_length=32,
                             description="a pack word (bora, carton…) the price is for")
    confirm: bool = Field(default=False,
                          description="true: save a price that moved more than 3× anyway")


class StockChange(BaseModel):
    stock_milli: int = Field(ge=0, le=10**12, description="milli base units (100 kg = 100000)")


def _matches(product: Product, words: list[str]) -> bool:
    names = " ".join((product.sku, product.name_en, product.name_ne, *product.aliases)).lower()
    return all(word in names for word in words)


def product_out(product: Product) -> ProductOut:
    return ProductOut(sku=product.sku, name_en=product.name_en, name_ne=product.name_ne,
                      category=product.category, unit=product.unit,
                      packs={k: str(v.normalize()) for k, v in sorted(product.packs.items())},
                      list_price_paisa=product.price_paisa)


@API.endpoint("GET", "/products", summary="The catalog, or the products whose names match `q`",
              query=ProductsQuery, response=ProductList, roles=ALL_ROLES, tag="catalog")
async def list_products(call: Call) -> ProductList:
    """Active products in sku order; `q` keeps those whose name, Nepali name or alias contains
    every word."""
    query: ProductsQuery = call.query
    words = query.q.lower().split()
    found = [p for p in await catalog_store.products(call.conn) if _matches(p, words)]
    return ProductList(products=[product_out(p) for p in found[:query.limit]])


def offer_out(offer: VendorOffer, product: Product | None) -> OfferOut:
    return OfferOut(sku=offer.sku, name_en=product.name_en if product else offer.sku,
                    name_ne=product.name_ne if product else offer.sku,
                    unit=product.unit if product else "", price_paisa=offer.price_paisa,
                    stock_milli=offer.stock_milli, reserved_milli=offer.reserved_milli,
                    available_milli=offer.available_milli)


@API.endpoint("GET", "/prices", summary="Prices and stock of a vendor",
              query=OffersQuery, response=OfferList, roles=("VENDOR", "ADMIN", "OPERATOR"),
              tag="catalog")
async def list_offers(call: Call) -> OfferList:
    """A vendor's own products with price, stock, what open orders hold and what is left.
    The same list is at `/stock`."""
    return await _offers(call)


async def _offers(call: Call) -> OfferList:
    query: OffersQuery = call.query
    vendor_id = query.vendor_id or call.actor.id
    if not is_staff(call.actor) and vendor_id != call.actor.id:
        raise NotPermitted(action="vendor.read", role=call.actor.role)
    if is_staff(call.actor) and query.vendor_id is None:
        raise ApiError(422, "validation", "Staff name the vendor: ?vendor_id=…")
    parser = await catalog_store.parser(call.conn)
    return OfferList(offers=[offer_out(o, parser.products.get(o.sku))
                             for o in await stock.offers(call.conn, vendor_id)])


@API.endpoint("GET", "/stock", summary="Stock and prices of a vendor (the same list as /prices)",
              query=OffersQuery, response=OfferList, roles=("VENDOR", "ADMIN", "OPERATOR"),
              tag="catalog")
async def list_stock(call: Call) -> OfferList:
    """The list `/prices` gives."""
    return await _offers(call)


async def _product(call: Call, sku: str) -> Product:
    product = (await catalog_store.parser(call.conn)).products.get(sku)
    if product is None:
        raise UnknownProduct(sku=sku)
    return product


@API.endpoint("PUT", "/prices/{sku}", summary="Set your price of a product",
              path_params=SkuPath, body=PriceChange, response=OfferOut, roles=("VENDOR",),
              idempotent=True, tag="catalog", errors=(404, 409))
async def set_price(call: Call) -> OfferOut:
    """As "price chini 115" (per base unit) or "price chini 5600 bora" (`unit`: per pack).
    A new product needs a price before stock. A price more than 3× above or below the one
    before (else the list price) is 409 `price.check` unless `confirm` is true."""
    path: SkuPath = call.path
    body: PriceChange = call.body
    product = await _product(call, path.sku)
    parser = await catalog_store.parser(call.conn)
    unit = body.unit or product.unit
    per_unit = parser.vocabulary.to_base(product, Quantity(Decimal(1), unit))
    if not per_unit:
        raise ApiError(422, "unit_unknown", f"{product.sku} is not sold by {unit!r}; "
                       f"units: {', '.join([product.unit, *sorted(product.packs)])}")
    price = pricing.per_base_unit(body.price_paisa, per_unit)
    before = await stock.reference_price(call.conn, call.actor.id, product.sku)
    if before is not None and stock.implausible(before, price) and not body.confirm:
        raise ApiError(409, "price.check", (
            f"{price} paisa per {product.unit} is more than {stock.PLAUSIBLE_FACTOR}× away from "
            f"{before}; send it again with \"confirm\": true if it is right."))
    offer = await stock.set_offer(call.conn, call.actor, product.sku, price_paisa=price)
    return offer_out(offer, product)


@API.endpoint("PUT", "/stock/{sku}", summary="Set your stock of a product",
              path_params=SkuPath, body=StockChange, response=OfferOut, roles=("VENDOR",),
              idempotent=True, tag="catalog", errors=(404, 409))
async def set_stock(call: Call) -> OfferOut:
    """As "stock chini 100": what you have in all (0: out of stock). Never below what open
    orders hold (409); a product you do not carry yet needs a price first (422)."""
    path: SkuPath = call.path
    body: StockChange = call.body
    product = await _product(call, path.sku)
    offer = await stock.set_offer(call.conn, call.actor, product.sku,
                                  stock_milli=body.stock_milli)
    return offer_out(offer, product)
