//! Demo data: a believable catalogue (genres, people, cinemas, movies with some viewer
//! history), generated from a seed so that the same seed gives the same catalogue. The
//! local server offers it on first start; benchmarks grow it to tens of thousands of movies.
//! Every movie goes through the same checks and index projection as the API's writes, a
//! batch of movies at a time (one store write each, the names they credit read once).

use super::cinemas::{Cinema, CinemaInput, Screen};
use super::genres::{Genre, GenreInput};
use super::index;
use super::movies::{Movie, MovieInput, Price};
use super::people::{Actor, Director, PersonInput, Producer};
use super::records::{self, Record};
use fastrand::Rng;
use marquee_core::app::App;
use marquee_core::http::problem::Problem;

const GENRES: &[&str] = &[
    "Drama",
    "Comedy",
    "Thriller",
    "Science Fiction",
    "Romance",
    "Horror",
    "Documentary",
    "Animation",
    "Western",
    "Crime",
    "Fantasy",
    "Musical",
    "War",
    "Mystery",
    "Adventure",
];
const FIRST_NAMES: &[&str] = &[
    "Amélie", "José", "Zoë", "Hana", "Lars", "Chiara", "Malik", "Ingrid", "Tomás", "Aiko", "Noé",
    "Priya", "Olek", "Björn", "Lucía", "Kwame", "Élodie", "Mateo", "Yara", "Søren", "Nadia",
    "Hugo", "Ines", "Ravi", "Greta", "Dmitri", "Leïla", "Paolo", "Mei", "Connor",
];
const LAST_NAMES: &[&str] = &[
    "Moreau",
    "García",
    "Novak",
    "Okafor",
    "Lindqvist",
    "Rossi",
    "Tanaka",
    "Haddad",
    "Müller",
    "Kowalski",
    "Dubois",
    "Fernández",
    "Nakamura",
    "O'Brien",
    "Jensen",
    "Costa",
    "Petrov",
    "Achebe",
    "Larsen",
    "Silva",
    "Brontë",
    "Mendes",
    "Kaur",
    "Weiß",
    "Ibáñez",
    "Laurent",
];
const ADJECTIVES: &[&str] = &[
    "Silent", "Crimson", "Last", "Hidden", "Golden", "Broken", "Distant", "Wild", "Frozen",
    "Electric", "Lost", "Midnight", "Velvet", "Burning", "Quiet", "Paper", "Iron", "Secret",
    "Northern", "Endless", "Hollow", "Bright", "Fragile", "Savage", "Gentle", "Café",
];
const NOUNS: &[&str] = &[
    "Harbor",
    "Orchard",
    "Signal",
    "Garden",
    "River",
    "Empire",
    "Letter",
    "Mirror",
    "Station",
    "Horizon",
    "Kingdom",
    "Promise",
    "Frontier",
    "Lantern",
    "Voyage",
    "Canyon",
    "Symphony",
    "Witness",
    "Island",
    "Machine",
    "Season",
    "Shadow",
    "Crown",
    "Desert",
    "Cathedral",
    "Fiesta",
];
const PLACES: &[&str] = &[
    "Lisbon",
    "Kyoto",
    "Marseille",
    "Reykjavík",
    "Havana",
    "Kraków",
    "Nairobi",
    "Montréal",
    "São Paulo",
    "Tromsø",
    "Zürich",
    "Oaxaca",
    "Seville",
    "Busan",
    "Tbilisi",
    "Galway",
];
const PLOT: &[&str] = &[
    "a retired pilot",
    "an estranged sister",
    "a young cartographer",
    "an honest detective",
    "a travelling orchestra",
    "a stubborn baker",
    "the last lighthouse keeper",
    "a runaway heiress",
    "a chess prodigy",
    "an exiled poet",
    "a night-shift nurse",
    "a small-town mayor",
];
const TURNS: &[&str] = &[
    "uncovers a forgotten conspiracy",
    "must cross the mountains before winter",
    "falls for a rival",
    "inherits a crumbling cinema",
    "hunts for a stolen painting",
    "returns home after twenty years",
    "races against a collapsing dam",
    "learns the truth about a famous photograph",
    "plans one last heist",
];
const CERTIFICATIONS: &[&str] = &["U", "PG", "12A", "15", "18"];
const COMPANIES: &[&str] = &[
    "Northlight Pictures",
    "Bluebird Films",
    "Atelier Nord",
    "Sunday Matinee",
    "Cinéfabrique",
];
const CINEMAS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "Le Grand Rex",
        "1 Boulevard Poissonnière",
        "Paris",
        "FR",
        "Europe/Paris",
    ),
    (
        "Prince Charles Cinema",
        "7 Leicester Place",
        "London",
        "GB",
        "Europe/London",
    ),
    (
        "Kino Babylon",
        "Rosa-Luxemburg-Straße 30",
        "Berlin",
        "DE",
        "Europe/Berlin",
    ),
    (
        "Cine Doré",
        "Calle de Santa Isabel 3",
        "Madrid",
        "ES",
        "Europe/Madrid",
    ),
    (
        "Filmhuis Cavia",
        "Van Hallstraat 52",
        "Amsterdam",
        "NL",
        "Europe/Amsterdam",
    ),
];

/// What a seeding created.
#[derive(Debug, Default, Clone)]
pub struct Seeded {
    pub genres: Vec<String>,
    pub actors: Vec<String>,
    pub directors: Vec<String>,
    pub producers: Vec<String>,
    pub cinemas: Vec<String>,
    pub movies: Vec<String>,
}

fn pick<'a>(rng: &mut Rng, from: &[&'a str]) -> &'a str {
    from[rng.usize(..from.len())]
}

fn some_of(rng: &mut Rng, from: &[String], min: usize, max: usize) -> Vec<String> {
    let wanted = rng.usize(min..=max).min(from.len());
    let mut chosen: Vec<String> = Vec::with_capacity(wanted);
    while chosen.len() < wanted {
        let id = &from[rng.usize(..from.len())];
        if !chosen.contains(id) {
            chosen.push(id.clone());
        }
    }
    chosen
}

/// The names given to the seeded people so far: a catalogue's people are told apart by
/// name, so each name is given once.
#[derive(Default)]
struct PeopleNames(std::collections::HashMap<(&'static str, &'static str), usize>);

impl PeopleNames {
    /// A first and a last name drawn at random; one already given gets the next middle
    /// initial ("Mateo Novak", then "Mateo A. Novak", ... "Mateo Z. Novak", "Mateo A. A.
    /// Novak"). The draws are the same either way, so the rest of a seeded catalogue is too.
    fn draw(&mut self, rng: &mut Rng) -> String {
        let (first, last) = (pick(rng, FIRST_NAMES), pick(rng, LAST_NAMES));
        let given = self.0.entry((first, last)).or_default();
        let mut middle = String::new();
        let mut n = *given;
        *given += 1;
        while n > 0 {
            n -= 1;
            middle.insert_str(0, &format!("{}. ", char::from(b'A' + (n % 26) as u8)));
            n /= 26;
        }
        format!("{first} {middle}{last}")
    }
}

fn person(rng: &mut Rng, names: &mut PeopleNames, company: Option<&str>) -> PersonInput {
    PersonInput {
        name: names.draw(rng),
        birth_date: Some(format!(
            "{}-{:02}-{:02}",
            rng.i32(1935..2004),
            rng.u8(1..=12),
            rng.u8(1..=28)
        )),
        bio: Some(format!("Born in {}.", pick(rng, PLACES))),
        photo_url: None,
        company: company.map(str::to_string),
    }
}

fn title(rng: &mut Rng, n: usize) -> String {
    let base = match rng.u8(..4) {
        0 => format!("The {} {}", pick(rng, ADJECTIVES), pick(rng, NOUNS)),
        1 => format!("{} of {}", pick(rng, NOUNS), pick(rng, PLACES)),
        2 => format!("{} {}", pick(rng, ADJECTIVES), pick(rng, NOUNS)),
        _ => {
            let noun = pick(rng, NOUNS);
            let article = if noun.starts_with(['A', 'E', 'I', 'O', 'U']) {
                "An"
            } else {
                "A"
            };
            format!("{article} {noun} in {}", pick(rng, PLACES))
        }
    };
    // Large catalogues repeat word combinations: a sequel number keeps titles apart.
    if n >= 400 && rng.u8(..3) == 0 {
        format!("{base} {}", rng.u16(2..10))
    } else {
        base
    }
}

async fn insert<R: Record>(app: &App, input: R::Input) -> Result<String, Problem> {
    Ok(records::insert::<R>(app, input).await?.id)
}

/// Movies written per store batch when seeding: one SQLite transaction on the embedded
/// backend (BatchWriteItem calls of 25 on DynamoDB).
const MOVIES_PER_BATCH: usize = 1_000;

/// Movies made by the seeder, not yet stored: each with its viewer history.
#[derive(Default)]
struct Batch {
    movies: Vec<(MovieInput, index::Counters)>,
}

/// Writes a batch of new movies already projected: their records (with their history, no
/// mark), their index states (the keys they are indexed under) and every index item, in one batch write,
/// the names they credit read once for the whole seeding. Gives their ids and adds the
/// records they reference to `referenced`.
async fn write_projected(
    app: &App,
    batch: &mut Batch,
    credits: &index::Credits,
    referenced: &mut std::collections::HashMap<marquee_core::store::Key, i64>,
) -> Result<Vec<String>, Problem> {
    let mut writes = Vec::new();
    let mut ids = Vec::with_capacity(batch.movies.len());
    for (input, counters) in batch.movies.drain(..) {
        let (stored, item) = records::new_record::<Movie>(app, input)?;
        for reference in Movie::references(&stored.fields) {
            *referenced.entry(reference.key).or_default() += 1;
        }
        let (record, state, index_items) = index::projected(&stored, item, &counters, credits);
        writes.push(marquee_core::store::Write::put(record));
        writes.push(marquee_core::store::Write::put(state));
        writes.extend(index_items.into_iter().map(marquee_core::store::Write::put));
        ids.push(stored.id);
    }
    app.table.batch_write(writes).await?;
    Ok(ids)
}

/// Seeds a catalogue of `movies` movies (people and genres scale with it) from `seed`.
pub async fn seed(app: &App, movies: usize, seed: u64) -> Result<Seeded, Problem> {
    let mut rng = Rng::with_seed(seed);
    let mut out = Seeded::default();
    let mut names = PeopleNames::default();
    // Small catalogues (tests) get a cast to match; large ones share people widely.
    for name in GENRES.iter().take(movies.clamp(3, GENRES.len())) {
        let input = GenreInput {
            name: name.to_string(),
        };
        out.genres.push(insert::<Genre>(app, input).await?);
    }
    for _ in 0..(movies / 3).clamp(movies.min(15) * 2, 3000) {
        let input = person(&mut rng, &mut names, None);
        out.actors.push(insert::<Actor>(app, input).await?);
    }
    for _ in 0..(movies / 10).clamp(movies.min(10), 800) {
        let input = person(&mut rng, &mut names, None);
        out.directors.push(insert::<Director>(app, input).await?);
    }
    for _ in 0..(movies / 20).clamp(movies.min(6), 400) {
        let company = pick(&mut rng, COMPANIES);
        let input = person(&mut rng, &mut names, Some(company));
        out.producers.push(insert::<Producer>(app, input).await?);
    }
    for (name, address, city, country, time_zone) in CINEMAS {
        let screens = (1..=rng.u16(2..=6))
            .map(|number| Screen {
                number,
                seats: rng.u16(40..=300),
            })
            .collect();
        let input = CinemaInput {
            name: name.to_string(),
            address: address.to_string(),
            city: city.to_string(),
            country: country.to_string(),
            screens,
            time_zone: time_zone.to_string(),
        };
        out.cinemas.push(insert::<Cinema>(app, input).await?);
    }
    let credits = credits_of(app, &out).await?;
    let mut referenced = std::collections::HashMap::new();
    let mut batch = Batch::default();
    for n in 0..movies {
        let input = MovieInput {
            title: title(&mut rng, movies),
            description: format!(
                "In {}, {} {}. {}",
                pick(&mut rng, PLACES),
                pick(&mut rng, PLOT),
                pick(&mut rng, TURNS),
                if rng.bool() {
                    "A story of courage and second chances."
                } else {
                    "Shot on location over one long summer."
                }
            ),
            release_date: format!(
                "{}-{:02}-{:02}",
                rng.i32(1950..=2026),
                rng.u8(1..=12),
                rng.u8(1..=28)
            ),
            duration_min: rng.u16(80..=180),
            certification: pick(&mut rng, CERTIFICATIONS).to_string(),
            price: Price {
                amount: i64::from(rng.u16(2..=20)) * 100 - 1,
                currency: "EUR".into(),
            },
            genre_ids: some_of(&mut rng, &out.genres, 1, 3),
            actor_ids: some_of(&mut rng, &out.actors, 2, 5),
            producer_ids: some_of(&mut rng, &out.producers, 1, 2),
            director_ids: some_of(&mut rng, &out.directors, 1, 1),
            available: rng.u8(..20) != 0,
            regions: Vec::new(),
        };
        // Some viewer history, so that popularity and ratings have something to order.
        let mut counters = index::Counters::default();
        if n % 3 != 0 {
            let ratings = rng.u8(1..=40);
            counters.rating_sum = (0..ratings).map(|_| i64::from(rng.u8(1..=10))).sum();
            counters.likes = i64::from(rng.u16(..500));
            counters.dislikes = i64::from(rng.u16(..80));
            counters.favorites = i64::from(rng.u16(..60));
            counters.rating_count = i64::from(ratings);
        }
        batch.movies.push((input, counters));
        if batch.movies.len() == MOVIES_PER_BATCH {
            let ids = write_projected(app, &mut batch, &credits, &mut referenced).await?;
            out.movies.extend(ids);
        }
    }
    let ids = write_projected(app, &mut batch, &credits, &mut referenced).await?;
    out.movies.extend(ids);
    // Each genre and person counts the movies that credit it, once for the whole seeding.
    records::add_referrers(app, referenced).await?;
    Ok(out)
}

/// The names of the seeded genres and people, read once (as one projection reads a
/// movie's).
async fn credits_of(app: &App, seeded: &Seeded) -> Result<index::Credits, Problem> {
    let keys: Vec<marquee_core::store::Key> = seeded
        .genres
        .iter()
        .map(|id| records::key::<Genre>(id))
        .chain(seeded.actors.iter().map(|id| records::key::<Actor>(id)))
        .chain(
            seeded
                .directors
                .iter()
                .map(|id| records::key::<Director>(id)),
        )
        .chain(
            seeded
                .producers
                .iter()
                .map(|id| records::key::<Producer>(id)),
        )
        .collect();
    Ok(index::Credits::read(app, &keys).await?)
}

/// Three shows a day (14:00, 17:30 and 21:00 on the cinema's clock) on every screen of the
/// seeded cinemas, for `days` days from tomorrow, of randomly chosen movies.
pub async fn schedule_showtimes(
    app: &App,
    seeded: &Seeded,
    days: u16,
    seed: u64,
) -> Result<usize, Problem> {
    use super::showtimes::{ShowtimeInput, schedule_many};
    use time::format_description::well_known::Rfc3339;
    if seeded.movies.is_empty() {
        return Ok(0);
    }
    let mut rng = Rng::with_seed(seed);
    let today = app.clock.now().date();
    let mut inputs = Vec::new();
    for cinema_id in &seeded.cinemas {
        let cinema = records::load::<Cinema>(app, cinema_id).await?;
        for day in 1..=i64::from(days) {
            let date = today + time::Duration::days(day);
            for screen in &cinema.fields.screens {
                for (hour, minute) in [(14, 0), (17, 30), (21, 0)] {
                    let movie_id = &seeded.movies[rng.usize(..seeded.movies.len())];
                    let starts = time::Time::from_hms(hour, minute, 0)
                        .map(|t| marquee_core::clock::from_local(date, t, &cinema.fields.time_zone))
                        .map_err(|_| Problem::internal())?;
                    inputs.push(ShowtimeInput {
                        movie_id: movie_id.clone(),
                        cinema_id: cinema_id.clone(),
                        screen: screen.number,
                        starts_at: starts.format(&Rfc3339).map_err(|_| Problem::internal())?,
                        price: Price {
                            amount: i64::from(rng.u16(8..=16)) * 100,
                            currency: "EUR".into(),
                        },
                        seats: None,
                    });
                }
            }
        }
    }
    // Together: each screen's week is one transaction, not one per show.
    Ok(schedule_many(app, inputs).await?.len())
}

/// Whether the catalogue has no movie yet (an item read on each of the ALL shelf's
/// partitions: today's, and the one of the earlier layout, until its movies have moved).
pub async fn catalogue_is_empty(app: &App) -> Result<bool, Problem> {
    let first_of = |pk: String| {
        let query = marquee_core::store::Query::partition(pk)
            .limit(1)
            .attributes(&[]);
        async move { app.table.query(&query).await }
    };
    let (today, earlier) = tokio::join!(
        first_of(index::shelf_pk(index::ALL_FACET, index::Sort::Title)),
        first_of(index::EARLIER_ALL_SHELF.to_string()),
    );
    Ok(today?.items.is_empty() && earlier?.items.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_people_have_distinct_names_and_the_draws_they_would_have_had() {
        // As many people as the largest catalogue seeds: 3,000 actors, 800 directors
        // and 400 producers, over 780 first and last name pairs.
        let (mut rng, mut plain) = (Rng::with_seed(11), Rng::with_seed(11));
        let mut names = PeopleNames::default();
        let drawn: Vec<String> = (0..4_200).map(|_| names.draw(&mut rng)).collect();
        let distinct: std::collections::HashSet<&String> = drawn.iter().collect();
        assert_eq!(distinct.len(), drawn.len());
        assert!(drawn.iter().any(|n| n.split(' ').count() == 3), "{drawn:?}");
        for name in &drawn {
            let (first, last) = (pick(&mut plain, FIRST_NAMES), pick(&mut plain, LAST_NAMES));
            assert!(name.starts_with(&format!("{first} ")) && name.ends_with(&format!(" {last}")));
        }
        assert_eq!(
            rng.u64(..),
            plain.u64(..),
            "the same draws, so the same catalogue after"
        );
    }

    #[test]
    fn middle_initials_count_on_past_z() {
        // Whatever pair the seed draws, given 26 times already, then 27.
        let mut probe = Rng::with_seed(0);
        let pair = (pick(&mut probe, FIRST_NAMES), pick(&mut probe, LAST_NAMES));
        let mut names = PeopleNames::default();
        names.0.insert(pair, 26);
        assert_eq!(
            names.draw(&mut Rng::with_seed(0)),
            format!("{} Z. {}", pair.0, pair.1)
        );
        assert_eq!(
            names.draw(&mut Rng::with_seed(0)),
            format!("{} A. A. {}", pair.0, pair.1)
        );
    }

    #[test]
    fn titles_take_an_before_a_vowel() {
        let mut rng = Rng::with_seed(7);
        let titles: Vec<String> = (0..2_000).map(|n| title(&mut rng, n)).collect();
        let articled = |article: &str| titles.iter().filter(|t| t.starts_with(article)).count();
        assert!(
            articled("A ") > 0 && articled("An ") > 0,
            "both articles in 2,000"
        );
        for title in &titles {
            let vowel =
                |word: Option<&str>| word.is_some_and(|w| w.starts_with(['A', 'E', 'I', 'O', 'U']));
            let mut words = title.split(' ');
            match words.next() {
                Some("A") => assert!(!vowel(words.next()), "{title}"),
                Some("An") => assert!(vowel(words.next()), "{title}"),
                _ => {}
            }
        }
    }
}
