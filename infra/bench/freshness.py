#!/usr/bin/env python3
"""How long a like takes to show in the catalogue's lists on the local server.

Starts the given marquee-local binary on a fresh embedded store with the demo catalogue
and the sweep set an hour apart (so only the change feed can bring a click to the lists),
signs a viewer up, then for each of `--likes` movies: likes it, and reads the list its
card is on (the shelf of its first actor, by title) every few milliseconds until the card
shows the new count. Prints the delays' percentiles (from the like's answer to the first
list that shows it). Usage: freshness.py path/to/marquee-local [--likes 40] [--movies 1000]
"""
import argparse
import http.client
import json
import sys
import tempfile
import time

from latency import PASSWORD, activation_token, call, pct, start


def card_likes(conn, movie):
    """The likes the movie's card shows on its first actor's shelf."""
    status, payload = call(conn, "GET", f"/movies?actor={movie['actor_ids'][0]}&sort=title&limit=100")
    assert status == 200, payload
    for card in json.loads(payload)["items"]:
        if card["id"] == movie["id"]:
            return card["likes"]
    sys.exit(f"{movie['id']} is not on its actor's shelf")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--likes", type=int, default=40)
    parser.add_argument("--movies", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        proc, host, port = start(args.binary, data, MARQUEE_DEMO="true",
                                 MARQUEE_DEMO_MOVIES=str(args.movies), MARQUEE_SWEEP_SECS="3600")
        try:
            conn = http.client.HTTPConnection(host, port)
            email = "fresh@example.com"
            status, payload = call(conn, "POST", "/auth/register", {"email": email, "password": PASSWORD})
            assert status == 201, payload
            status, payload = call(conn, "POST", "/auth/activate", {"token": activation_token(data, email)})
            assert status == 200, payload
            status, payload = call(conn, "POST", "/auth/login", {"email": email, "password": PASSWORD})
            token = json.loads(payload)["access_token"]
            status, payload = call(conn, "GET", f"/movies?sort=title&limit={args.likes}")
            movies = [m for m in json.loads(payload)["items"] if m["actor_ids"]]
            delays = []
            for movie in movies:
                before = card_likes(conn, movie)
                status, payload = call(conn, "PUT", f"/movies/{movie['id']}/reaction",
                                       {"value": "like"}, token)
                assert status == 200, payload
                liked = time.perf_counter()
                while card_likes(conn, movie) != before + 1:
                    if time.perf_counter() - liked > 30:
                        sys.exit(f"the like on {movie['id']} never reached its list")
                    time.sleep(0.002)
                delays.append((time.perf_counter() - liked) * 1000)
        finally:
            proc.terminate()
            proc.wait()
    print(f"{'a like, until its card on a list shows it':<44}{'n':>5}{'p50 ms':>9}{'p90 ms':>9}{'max ms':>9}")
    print(f"{'':<44}{len(delays):>5}{pct(delays, 50):>9.1f}{pct(delays, 90):>9.1f}{max(delays):>9.1f}")


if __name__ == "__main__":
    main()
