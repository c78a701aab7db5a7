// A viewer's journey through the TypeScript client: openapi-fetch typed by the `paths`
// that openapi-typescript generated from the served document. tsc --strict checks every
// request and every read of an answer against the generated types; the run checks the
// values. Usage (by clients.py): node typescript_journey.js BASE_URL OUTBOX_DIR
import createClient from "openapi-fetch";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { paths } from "../../target/clients/typescript/marquee-api.js";

const [base, outbox] = process.argv.slice(2);
const password = "Velvet-Lantern-Orbit-42";

function check(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`typescript client: ${what}`);
}

function step(what: string, status: number, wanted: number) {
  check(status === wanted, `${what}: ${status} (wanted ${wanted})`);
  console.log(`typescript client: ${what}: ${status}`);
}

async function emailToken(to: string): Promise<string> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    // The outbox folder appears with the server's first email.
    const names = existsSync(outbox) ? readdirSync(outbox) : [];
    for (const name of names.sort().reverse()) {
      const text = readFileSync(join(outbox, name), "utf8");
      const found = text.match(/\/activate\?token=([A-Za-z0-9_-]+)/);
      if (text.includes(`\nTo: ${to}\n`) && found) return found[1];
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`no activation email to ${to}`);
}

const api = createClient<paths>({ baseUrl: base });
const email = `typescript.${Date.now()}@example.com`;

const created = await api.POST("/auth/register", { body: { email, password } });
step("sign up", created.response.status, 201);
check(created.data?.active === false, "a new account is inactive");
const activated = await api.POST("/auth/activate", { body: { token: await emailToken(email) } });
step("activate", activated.response.status, 200);
const login = await api.POST("/auth/login", { body: { email, password } });
step("sign in", login.response.status, 200);
check(login.data && "access_token" in login.data, "a token pair");
const headers = { Authorization: `Bearer ${login.data.access_token}` };

const page = await api.GET("/movies", { params: { query: { limit: 10 } } });
step("list movies", page.response.status, 200);
const card = page.data?.items.find((c) => c.available);
check(card, "a movie for sale");
const movie = await api.GET("/movies/{id}", { params: { path: { id: card.id } } });
step("open a movie", movie.response.status, 200);
check(movie.data?.id === card.id && Array.isArray(movie.data.actors), "the movie opened");
const id = movie.data.id;
const favourite = await api.PUT("/me/favorites/{movie_id}", { params: { path: { movie_id: id } }, headers });
step("favourite", favourite.response.status, 204);
const rated = await api.PUT("/movies/{id}/rating", { params: { path: { id } }, body: { score: 9 }, headers });
step("rate", rated.response.status, 200);
check((rated.data?.rating_count ?? 0) >= 1, "the rating counts");
const me = await api.PATCH("/me", { body: { first_name: "Teo", country: "ES" }, headers });
step("update the profile", me.response.status, 200);
check(me.data?.first_name === "Teo", "the profile changed");
const cart = await api.POST("/cart/items", { body: { movie_id: id }, headers });
step("add to cart", cart.response.status, 201);
check(cart.data?.items.some((line) => line.movie_id === id), "the movie is in the cart");
const order = await api.POST("/orders", { params: { header: { "Idempotency-Key": "typescript-journey" } }, headers });
step("order", order.response.status, 201);
check(order.data, "an order");
const started = await api.POST("/orders/{id}/checkout", { params: { path: { id: order.data.id } }, headers });
step("check out", started.response.status, 200);
check(started.data?.checkout_url.startsWith("http"), "a checkout URL");
console.log("typescript client: journey passed");
