"""A viewer's journey through the Python client openapi-python-client generated from the
served document: every call through the generated functions, every answer decoded into
the generated types (a `parsed` of the type the document names, never a bare dict).

Usage (by infra/contract/clients.py): python_journey.py BASE_URL OUTBOX_DIR CLIENT_DIR
"""

import pathlib
import re
import sys
import time


def email_token(outbox: pathlib.Path, to: str, seconds: float = 20) -> str:
    """The token of the newest activation email to `to` in the local server's outbox."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for mail in sorted(outbox.glob("*.txt"), reverse=True):
            text = mail.read_text()
            if f"\nTo: {to}\n" in text and "/activate?token=" in text:
                return re.search(r"/activate\?token=([A-Za-z0-9_\-]+)", text).group(1)
        time.sleep(0.1)
    raise AssertionError(f"no activation email to {to} within {seconds} s")


def expect(what, response, status, kind):
    assert response.status_code == status, f"{what}: {response.status_code} {response.content!r}"
    if kind is not None:
        assert isinstance(response.parsed, kind), (
            f"{what}: decoded as {type(response.parsed).__name__}, not {kind.__name__}"
        )
    print(f"python client: {what}: {status}")
    return response.parsed


def main():
    base, outbox, client_dir = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]
    sys.path.insert(0, client_dir)
    from marquee_api_client import AuthenticatedClient, Client
    from marquee_api_client.api.accounts import auth_activate, auth_register, me_update
    from marquee_api_client.api.auth import auth_login
    from marquee_api_client.api.cart import cart_add
    from marquee_api_client.api.catalog import movies_get, movies_list
    from marquee_api_client.api.engagement import favorites_add, movies_rating_set
    from marquee_api_client.api.orders import orders_checkout, orders_create
    from marquee_api_client.models import (
        ActivateRequest,
        AddItem,
        CardPage,
        CartView,
        CheckoutStarted,
        LoginRequest,
        MovieCounts,
        MovieDetail,
        Order,
        ProfilePatch,
        RatingInput,
        RegisterRequest,
        TokenPair,
        UserView,
    )

    anonymous = Client(base_url=base, raise_on_unexpected_status=True)
    email = f"python.{int(time.time() * 1000)}@example.com"
    password = "Velvet-Lantern-Orbit-42"
    created = expect(
        "sign up",
        auth_register.sync_detailed(client=anonymous, body=RegisterRequest(email=email, password=password)),
        201,
        UserView,
    )
    assert created.active is False, created
    token = email_token(outbox, email)
    expect(
        "activate",
        auth_activate.sync_detailed(client=anonymous, body=ActivateRequest(token=token)),
        200,
        UserView,
    )
    pair = expect(
        "sign in",
        auth_login.sync_detailed(client=anonymous, body=LoginRequest(email=email, password=password)),
        200,
        TokenPair,
    )
    viewer = AuthenticatedClient(base_url=base, token=pair.access_token, raise_on_unexpected_status=True)
    page = expect("list movies", movies_list.sync_detailed(client=anonymous, limit=10), 200, CardPage)
    assert page.items, "the demo catalogue lists movies"
    for_sale = [card for card in page.items if card.available]
    assert for_sale, "a movie for sale"
    movie = expect("open a movie", movies_get.sync_detailed(for_sale[0].id, client=anonymous), 200, MovieDetail)
    assert movie.id == for_sale[0].id and movie.actors is not None
    expect("favourite", favorites_add.sync_detailed(movie.id, client=viewer), 204, None)
    counts = expect(
        "rate", movies_rating_set.sync_detailed(movie.id, client=viewer, body=RatingInput(score=8)), 200, MovieCounts
    )
    assert counts.rating_count >= 1, counts
    me = expect(
        "update the profile",
        me_update.sync_detailed(client=viewer, body=ProfilePatch(first_name="Pia", country="FR")),
        200,
        UserView,
    )
    assert me.first_name == "Pia", me
    cart = expect("add to cart", cart_add.sync_detailed(client=viewer, body=AddItem(movie_id=movie.id)), 201, CartView)
    assert any(line.movie_id == movie.id for line in cart.items), cart
    order = expect(
        "order", orders_create.sync_detailed(client=viewer, idempotency_key="python-journey"), 201, Order
    )
    started = expect("check out", orders_checkout.sync_detailed(order.id, client=viewer), 200, CheckoutStarted)
    assert started.checkout_url.startswith("http"), started
    print("python client: journey passed")


if __name__ == "__main__":
    main()
