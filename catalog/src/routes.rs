//! The catalogue and engagement slice of the route table: movies and their records,
//! showtimes, reactions, ratings, comments, favourites and purchases.

use crate::catalog::{self, records};
use crate::engagement;
use axum::routing::on;
use marquee_core::http::guard::Access::{AtLeast, Public};
use marquee_core::http::pagination::Page;
use marquee_core::role::Role::{Moderator, User};
use marquee_core::route::Method::{Delete, Get, Patch, Post, Put};
use marquee_core::route::Need;
use marquee_core::route::{Caching, Route, body, route};

/// The filters, sorts and paging of movies-list (and favourites).
const BROWSE_PARAMS: &[&str] = &[
    "genre",
    "actor",
    "director",
    "producer",
    "year_from",
    "year_to",
    "price_min",
    "price_max",
    "rating_min",
    "certification",
    "q",
    "sort",
    "order",
    "limit",
    "cursor",
];

pub const MOVIES_LIST: Route = route(
    "movies-list",
    Get,
    "/movies",
    Public,
    "catalog",
    "Browse and search movies: filters, sorts and cursors combine",
    |m| on(m, catalog::browse::list),
)
.cached(Caching::LIVE)
.gives(body::<Page<catalog::index::Card>>())
.query(BROWSE_PARAMS)
.needs(&[Need::BatchGetItem, Need::Query]);

pub const MOVIES_GET: Route = route(
    "movies-get",
    Get,
    "/movies/{id}",
    Public,
    "catalog",
    "A movie with its genres, cast, producers and directors",
    |m| on(m, catalog::movies::get),
)
.cached(Caching::LIVE)
.gives(body::<catalog::movies::MovieDetail>())
.needs(&[Need::GetItem, Need::BatchGetItem]);

pub const ME_MARKS: Route = route(
    "me-marks",
    Get,
    "/me/marks",
    AtLeast(User),
    "engagement",
    "The caller's own reaction, rating, favourite, purchase and progress on up to 100 movies",
    |m| on(m, engagement::mine::marks),
)
.gives(body::<engagement::mine::MarksList>())
.query(&["ids"])
.needs(&[Need::GetItem, Need::BatchGetItem]);

pub const MOVIES_CREATE: Route = route(
    "movies-create",
    Post,
    "/movies",
    AtLeast(Moderator),
    "catalog",
    "Add a movie; every id it names must exist",
    |m| on(m, records::create::<catalog::movies::Movie>),
)
.status(201)
.takes(body::<catalog::movies::MovieInput>())
.gives(body::<catalog::movies::MovieView>())
.needs(&[
    Need::GetItem,
    Need::BatchGetItem,
    Need::PutItem,
    Need::UpdateItem,
    Need::BatchWriteItem,
]);

pub const MOVIES_UPDATE: Route = route(
    "movies-update",
    Patch,
    "/movies/{id}",
    AtLeast(Moderator),
    "catalog",
    "Change a movie (JSON merge patch; If-Match: its version)",
    |m| on(m, records::update::<catalog::movies::Movie>),
)
.takes(body::<catalog::movies::MovieInput>())
.gives(body::<catalog::movies::MovieView>())
.needs(&[
    Need::GetItem,
    Need::BatchGetItem,
    Need::UpdateItem,
    Need::BatchWriteItem,
]);

pub const MOVIES_DELETE: Route = route(
    "movies-delete",
    Delete,
    "/movies/{id}",
    AtLeast(Moderator),
    "catalog",
    "Remove a movie nobody bought (otherwise make it unavailable)",
    |m| on(m, records::delete::<catalog::movies::Movie>),
)
.status(204)
.needs(&[
    Need::GetItem,
    Need::QueryIndexes,
    Need::PutItem,
    Need::UpdateItem,
    Need::DeleteItem,
    Need::BatchWriteItem,
    Need::SendMailQueue,
]);

pub const MOVIES_REACTION_SET: Route = route(
    "movies-reaction-set",
    Put,
    "/movies/{id}/reaction",
    AtLeast(User),
    "engagement",
    "Like or dislike a movie (one reaction each; switching moves the counts)",
    |m| on(m, engagement::reactions::set_reaction),
)
.takes(body::<engagement::reactions::ReactionInput>())
.gives(body::<catalog::movies::MovieCounts>())
.needs(&[Need::GetItem, Need::PutItem, Need::UpdateItem]);

pub const MOVIES_REACTION_CLEAR: Route = route(
    "movies-reaction-clear",
    Delete,
    "/movies/{id}/reaction",
    AtLeast(User),
    "engagement",
    "Withdraw your reaction",
    |m| on(m, engagement::reactions::clear_reaction),
)
.gives(body::<catalog::movies::MovieCounts>())
.needs(&[Need::GetItem, Need::UpdateItem, Need::DeleteItem]);

pub const MOVIES_RATING_SET: Route = route(
    "movies-rating-set",
    Put,
    "/movies/{id}/rating",
    AtLeast(User),
    "engagement",
    "Rate a movie 1 to 10 (one score each, changeable)",
    |m| on(m, engagement::reactions::set_rating),
)
.takes(body::<engagement::reactions::RatingInput>())
.gives(body::<catalog::movies::MovieCounts>())
.needs(&[Need::GetItem, Need::PutItem, Need::UpdateItem]);

pub const MOVIES_RATING_CLEAR: Route = route(
    "movies-rating-clear",
    Delete,
    "/movies/{id}/rating",
    AtLeast(User),
    "engagement",
    "Withdraw your rating",
    |m| on(m, engagement::reactions::clear_rating),
)
.gives(body::<catalog::movies::MovieCounts>())
.needs(&[Need::GetItem, Need::UpdateItem, Need::DeleteItem]);

pub const COMMENTS_LIST: Route = route(
    "comments-list",
    Get,
    "/movies/{id}/comments",
    Public,
    "engagement",
    "Comments by thread, replies under the comment they answer",
    |m| on(m, engagement::comments::list),
)
.cached(Caching::LIVE)
.gives(body::<Page<engagement::comments::Comment>>())
.query(&["limit", "cursor"])
.needs(&[Need::GetItem, Need::Query]);

pub const COMMENTS_CREATE: Route = route(
    "comments-create",
    Post,
    "/movies/{id}/comments",
    AtLeast(User),
    "engagement",
    "Comment, or reply (the author answered is emailed)",
    |m| on(m, engagement::comments::create),
)
.status(201)
.takes(body::<engagement::comments::CommentInput>())
.gives(body::<engagement::comments::Comment>())
.needs(&[
    Need::GetItem,
    Need::PutItem,
    Need::UpdateItem,
    Need::ConditionCheckItem,
    Need::SendMailQueue,
]);

pub const COMMENTS_UPDATE: Route = route(
    "comments-update",
    Patch,
    "/comments/{id}",
    AtLeast(User),
    "engagement",
    "Edit your comment",
    |m| on(m, engagement::comments::update),
)
.takes(body::<engagement::comments::CommentEdit>())
.gives(body::<engagement::comments::Comment>())
.needs(&[Need::GetItem, Need::UpdateItem]);

pub const COMMENTS_DELETE: Route = route(
    "comments-delete",
    Delete,
    "/comments/{id}",
    AtLeast(User),
    "engagement",
    "Delete your comment (moderators: any comment)",
    |m| on(m, engagement::comments::delete),
)
.status(204)
.needs(&[Need::GetItem, Need::UpdateItem]);

pub const FAVORITES_LIST: Route = route(
    "favorites-list",
    Get,
    "/me/favorites",
    AtLeast(User),
    "engagement",
    "Your favourites, with the filters and sorts of movies-list",
    |m| on(m, engagement::favorites::list),
)
.gives(body::<Page<catalog::index::Card>>())
.query(BROWSE_PARAMS)
.needs(&[Need::GetItem, Need::BatchGetItem, Need::Query]);

pub const FAVORITES_ADD: Route = route(
    "favorites-add",
    Put,
    "/me/favorites/{movie_id}",
    AtLeast(User),
    "engagement",
    "Keep a movie among your favourites",
    |m| on(m, engagement::favorites::add),
)
.status(204)
.needs(&[Need::GetItem, Need::PutItem, Need::UpdateItem]);

pub const FAVORITES_REMOVE: Route = route(
    "favorites-remove",
    Delete,
    "/me/favorites/{movie_id}",
    AtLeast(User),
    "engagement",
    "Remove a movie from your favourites",
    |m| on(m, engagement::favorites::remove),
)
.status(204)
.needs(&[Need::GetItem, Need::UpdateItem, Need::DeleteItem]);

pub const PURCHASES_LIST: Route = route(
    "purchases-list",
    Get,
    "/me/purchases",
    AtLeast(User),
    "engagement",
    "The movies you own, in the order bought",
    |m| on(m, engagement::mine::purchases),
)
.gives(body::<Page<engagement::mine::Owned>>())
.query(&["limit", "cursor"])
.needs(&[Need::GetItem, Need::BatchGetItem, Need::Query]);

pub const GENRES_LIST: Route = route(
    "genres-list",
    Get,
    "/genres",
    Public,
    "catalog",
    "Genres by name, with movie counts",
    |m| on(m, records::list::<catalog::genres::Genre>),
)
.cached(Caching::EDITED)
.gives(body::<Page<catalog::genres::GenreView>>())
.query(&["q", "limit", "cursor"])
.needs(&[Need::QueryIndexes]);

pub const GENRES_GET: Route = route(
    "genres-get",
    Get,
    "/genres/{id}",
    Public,
    "catalog",
    "One genre, with a page of its movies by title",
    |m| on(m, records::get::<catalog::genres::Genre>),
)
.cached(Caching::EDITED)
.gives(body::<catalog::genres::GenreView>())
.query(&["movies_limit", "movies_cursor"])
.needs(&[Need::GetItem, Need::BatchGetItem, Need::Query]);

pub const GENRES_CREATE: Route = route(
    "genres-create",
    Post,
    "/genres",
    AtLeast(Moderator),
    "catalog",
    "Add a genre",
    |m| on(m, records::create::<catalog::genres::Genre>),
)
.status(201)
.takes(body::<catalog::genres::GenreInput>())
.gives(body::<catalog::genres::GenreView>())
.needs(&[Need::GetItem, Need::Query, Need::PutItem]);

pub const GENRES_UPDATE: Route = route(
    "genres-update",
    Patch,
    "/genres/{id}",
    AtLeast(Moderator),
    "catalog",
    "Change a genre (JSON merge patch; If-Match: its version)",
    |m| on(m, records::update::<catalog::genres::Genre>),
)
.takes(body::<catalog::genres::GenreInput>())
.gives(body::<catalog::genres::GenreView>())
.needs(&[
    Need::GetItem,
    Need::Query,
    Need::PutItem,
    Need::UpdateItem,
    Need::DeleteItem,
]);

pub const GENRES_DELETE: Route = route(
    "genres-delete",
    Delete,
    "/genres/{id}",
    AtLeast(Moderator),
    "catalog",
    "Remove a genre no movie references",
    |m| on(m, records::delete::<catalog::genres::Genre>),
)
.status(204)
.needs(&[
    Need::GetItem,
    Need::Query,
    Need::UpdateItem,
    Need::DeleteItem,
]);

pub const ACTORS_LIST: Route = route(
    "actors-list",
    Get,
    "/actors",
    Public,
    "catalog",
    "Actors by name",
    |m| on(m, records::list::<catalog::people::Actor>),
)
.cached(Caching::EDITED)
.gives(body::<Page<catalog::people::PersonView>>())
.query(&["q", "limit", "cursor"])
.needs(&[Need::QueryIndexes]);

pub const ACTORS_GET: Route = route(
    "actors-get",
    Get,
    "/actors/{id}",
    Public,
    "catalog",
    "One actor, with a page of their movies by title",
    |m| on(m, records::get::<catalog::people::Actor>),
)
.cached(Caching::EDITED)
.gives(body::<catalog::people::PersonView>())
.query(&["movies_limit", "movies_cursor"])
.needs(&[Need::GetItem, Need::BatchGetItem, Need::Query]);

pub const ACTORS_CREATE: Route = route(
    "actors-create",
    Post,
    "/actors",
    AtLeast(Moderator),
    "catalog",
    "Add an actor",
    |m| on(m, records::create::<catalog::people::Actor>),
)
.status(201)
.takes(body::<catalog::people::PersonInput>())
.gives(body::<catalog::people::PersonView>())
.needs(&[Need::GetItem, Need::Query, Need::PutItem]);

pub const ACTORS_UPDATE: Route = route(
    "actors-update",
    Patch,
    "/actors/{id}",
    AtLeast(Moderator),
    "catalog",
    "Change an actor (JSON merge patch; If-Match: its version)",
    |m| on(m, records::update::<catalog::people::Actor>),
)
.takes(body::<catalog::people::PersonInput>())
.gives(body::<catalog::people::PersonView>())
.needs(&[Need::GetItem, Need::Query, Need::UpdateItem]);

pub const ACTORS_DELETE: Route = route(
    "actors-delete",
    Delete,
    "/actors/{id}",
    AtLeast(Moderator),
    "catalog",
    "Remove an actor no movie references",
    |m| on(m, records::delete::<catalog::people::Actor>),
)
.status(204)
.needs(&[
    Need::GetItem,
    Need::Query,
    Need::UpdateItem,
    Need::DeleteItem,
]);

pub const PRODUCERS_LIST: Route = route(
    "producers-list",
    Get,
    "/producers",
    Public,
    "catalog",
    "Producers by name",
    |m| on(m, records::list::<catalog::people::Producer>),
)
.cached(Caching::EDITED)
.gives(body::<Page<catalog::people::PersonView>>())
.query(&["q", "limit", "cursor"])
.needs(&[Need::QueryIndexes]);

pub const PRODUCERS_GET: Route = route(
    "producers-get",
    Get,
    "/producers/{id}",
    Public,
    "catalog",
    "One producer, with a page of their movies by title",
    |m| on(m, records::get::<catalog::people::Producer>),
)
.cached(Caching::EDITED)
.gives(body::<catalog::people::PersonView>())
.query(&["movies_limit", "movies_cursor"])
.needs(&[Need::GetItem, Need::BatchGetItem, Need::Query]);

pub const PRODUCERS_CREATE: Route = route(
    "producers-create",
    Post,
    "/producers",
    AtLeast(Moderator),
    "catalog",
    "Add a producer",
    |m| on(m, records::create::<catalog::people::Producer>),
)
.status(201)
.takes(body::<catalog::people::PersonInput>())
.gives(body::<catalog::people::PersonView>())
.needs(&[Need::GetItem, Need::Query, Need::PutItem]);

pub const PRODUCERS_UPDATE: Route = route(
    "producers-update",
    Patch,
    "/producers/{id}",
    AtLeast(Moderator),
    "catalog",
    "Change a producer (JSON merge patch; If-Match: its version)",
    |m| on(m, records::update::<catalog::people::Producer>),
)
.takes(body::<catalog::people::PersonInput>())
.gives(body::<catalog::people::PersonView>())
.needs(&[Need::GetItem, Need::Query, Need::UpdateItem]);

pub const PRODUCERS_DELETE: Route = route(
    "producers-delete",
    Delete,
    "/producers/{id}",
    AtLeast(Moderator),
    "catalog",
    "Remove a producer no movie references",
    |m| on(m, records::delete::<catalog::people::Producer>),
)
.status(204)
.needs(&[
    Need::GetItem,
    Need::Query,
    Need::UpdateItem,
    Need::DeleteItem,
]);

pub const DIRECTORS_LIST: Route = route(
    "directors-list",
    Get,
    "/directors",
    Public,
    "catalog",
    "Directors by name",
    |m| on(m, records::list::<catalog::people::Director>),
)
.cached(Caching::EDITED)
.gives(body::<Page<catalog::people::PersonView>>())
.query(&["q", "limit", "cursor"])
.needs(&[Need::QueryIndexes]);

pub const DIRECTORS_GET: Route = route(
    "directors-get",
    Get,
    "/directors/{id}",
    Public,
    "catalog",
    "One director, with a page of their movies by title",
    |m| on(m, records::get::<catalog::people::Director>),
)
.cached(Caching::EDITED)
.gives(body::<catalog::people::PersonView>())
.query(&["movies_limit", "movies_cursor"])
.needs(&[Need::GetItem, Need::BatchGetItem, Need::Query]);

pub const DIRECTORS_CREATE: Route = route(
    "directors-create",
    Post,
    "/directors",
    AtLeast(Moderator),
    "catalog",
    "Add a director",
    |m| on(m, records::create::<catalog::people::Director>),
)
.status(201)
.takes(body::<catalog::people::PersonInput>())
.gives(body::<catalog::people::PersonView>())
.needs(&[Need::GetItem, Need::Query, Need::PutItem]);

pub const DIRECTORS_UPDATE: Route = route(
    "directors-update",
    Patch,
    "/directors/{id}",
    AtLeast(Moderator),
    "catalog",
    "Change a director (JSON merge patch; If-Match: its version)",
    |m| on(m, records::update::<catalog::people::Director>),
)
.takes(body::<catalog::people::PersonInput>())
.gives(body::<catalog::people::PersonView>())
.needs(&[Need::GetItem, Need::Query, Need::UpdateItem]);

pub const DIRECTORS_DELETE: Route = route(
    "directors-delete",
    Delete,
    "/directors/{id}",
    AtLeast(Moderator),
    "catalog",
    "Remove a director no movie references",
    |m| on(m, records::delete::<catalog::people::Director>),
)
.status(204)
.needs(&[
    Need::GetItem,
    Need::Query,
    Need::UpdateItem,
    Need::DeleteItem,
]);

pub const CINEMAS_LIST: Route = route(
    "cinemas-list",
    Get,
    "/cinemas",
    Public,
    "catalog",
    "Cinemas by name",
    |m| on(m, records::list::<catalog::cinemas::Cinema>),
)
.cached(Caching::EDITED)
.gives(body::<Page<catalog::cinemas::CinemaView>>())
.query(&["q", "limit", "cursor"])
.needs(&[Need::QueryIndexes]);

pub const CINEMAS_GET: Route = route(
    "cinemas-get",
    Get,
    "/cinemas/{id}",
    Public,
    "catalog",
    "One cinema",
    |m| on(m, records::get::<catalog::cinemas::Cinema>),
)
.cached(Caching::EDITED)
.gives(body::<catalog::cinemas::CinemaView>())
.needs(&[Need::GetItem]);

pub const CINEMAS_CREATE: Route = route(
    "cinemas-create",
    Post,
    "/cinemas",
    AtLeast(Moderator),
    "catalog",
    "Add a cinema",
    |m| on(m, records::create::<catalog::cinemas::Cinema>),
)
.status(201)
.takes(body::<catalog::cinemas::CinemaInput>())
.gives(body::<catalog::cinemas::CinemaView>())
.needs(&[Need::GetItem, Need::PutItem]);

pub const CINEMAS_UPDATE: Route = route(
    "cinemas-update",
    Patch,
    "/cinemas/{id}",
    AtLeast(Moderator),
    "catalog",
    "Change a cinema (JSON merge patch; If-Match: its version)",
    |m| on(m, records::update::<catalog::cinemas::Cinema>),
)
.takes(body::<catalog::cinemas::CinemaInput>())
.gives(body::<catalog::cinemas::CinemaView>())
.needs(&[Need::GetItem, Need::UpdateItem]);

pub const CINEMAS_DELETE: Route = route(
    "cinemas-delete",
    Delete,
    "/cinemas/{id}",
    AtLeast(Moderator),
    "catalog",
    "Remove a cinema that has no showtimes",
    |m| on(m, records::delete::<catalog::cinemas::Cinema>),
)
.status(204)
.needs(&[Need::GetItem, Need::DeleteItem]);

pub const SHOWTIMES_LIST: Route = route(
    "showtimes-list",
    Get,
    "/showtimes",
    Public,
    "catalog",
    "Showtimes by start, of a cinema, a movie or a day (default: upcoming)",
    |m| on(m, catalog::showtimes::list),
)
.cached(Caching::LIVE)
.gives(body::<Page<catalog::showtimes::ShowtimeView>>())
.query(&["cinema", "movie", "date", "limit", "cursor"])
.needs(&[Need::QueryIndexes]);

pub const SHOWTIMES_GET: Route = route(
    "showtimes-get",
    Get,
    "/showtimes/{id}",
    Public,
    "catalog",
    "A showtime with the seats left",
    |m| on(m, catalog::showtimes::get),
)
.cached(Caching::LIVE)
.gives(body::<catalog::showtimes::ShowtimeView>())
.needs(&[Need::GetItem]);

pub const SHOWTIMES_CREATE: Route = route(
    "showtimes-create",
    Post,
    "/showtimes",
    AtLeast(Moderator),
    "catalog",
    "Schedule a movie on a screen (in the future, not overlapping another show)",
    |m| on(m, catalog::showtimes::create),
)
.status(201)
.takes(body::<catalog::showtimes::ShowtimeInput>())
.gives(body::<catalog::showtimes::ShowtimeView>())
.needs(&[
    Need::GetItem,
    Need::BatchGetItem,
    Need::PutItem,
    Need::UpdateItem,
    Need::ConditionCheckItem,
]);

pub const SHOWTIMES_UPDATE: Route = route(
    "showtimes-update",
    Patch,
    "/showtimes/{id}",
    AtLeast(Moderator),
    "catalog",
    "Change a showtime's price or seats (If-Match: its version)",
    |m| on(m, catalog::showtimes::update),
)
.takes(body::<catalog::showtimes::ShowtimePatch>())
.gives(body::<catalog::showtimes::ShowtimeView>())
.needs(&[Need::GetItem, Need::UpdateItem]);

pub const SHOWTIMES_DELETE: Route = route(
    "showtimes-delete",
    Delete,
    "/showtimes/{id}",
    AtLeast(Moderator),
    "catalog",
    "Cancel a showtime nobody holds tickets for",
    |m| on(m, catalog::showtimes::delete),
)
.status(204)
.needs(&[Need::GetItem, Need::UpdateItem, Need::DeleteItem]);

pub static ROUTES: &[Route] = &[
    MOVIES_LIST,
    MOVIES_GET,
    ME_MARKS,
    MOVIES_CREATE,
    MOVIES_UPDATE,
    MOVIES_DELETE,
    MOVIES_REACTION_SET,
    MOVIES_REACTION_CLEAR,
    MOVIES_RATING_SET,
    MOVIES_RATING_CLEAR,
    COMMENTS_LIST,
    COMMENTS_CREATE,
    COMMENTS_UPDATE,
    COMMENTS_DELETE,
    FAVORITES_LIST,
    FAVORITES_ADD,
    FAVORITES_REMOVE,
    PURCHASES_LIST,
    GENRES_LIST,
    GENRES_GET,
    GENRES_CREATE,
    GENRES_UPDATE,
    GENRES_DELETE,
    ACTORS_LIST,
    ACTORS_GET,
    ACTORS_CREATE,
    ACTORS_UPDATE,
    ACTORS_DELETE,
    PRODUCERS_LIST,
    PRODUCERS_GET,
    PRODUCERS_CREATE,
    PRODUCERS_UPDATE,
    PRODUCERS_DELETE,
    DIRECTORS_LIST,
    DIRECTORS_GET,
    DIRECTORS_CREATE,
    DIRECTORS_UPDATE,
    DIRECTORS_DELETE,
    CINEMAS_LIST,
    CINEMAS_GET,
    CINEMAS_CREATE,
    CINEMAS_UPDATE,
    CINEMAS_DELETE,
    SHOWTIMES_LIST,
    SHOWTIMES_GET,
    SHOWTIMES_CREATE,
    SHOWTIMES_UPDATE,
    SHOWTIMES_DELETE,
];

/// Routes served by one generic handler (`records::<op>::<Kind>`) for kinds that behave
/// alike: the three kinds of people. Their code paths are the same, so their grants are
/// too; a test holds them to it, so that one never loses an action the others have.
pub const SHARED_HANDLERS: &[&[&str]] = &[
    &["actors-list", "producers-list", "directors-list"],
    &["actors-get", "producers-get", "directors-get"],
    &["actors-create", "producers-create", "directors-create"],
    &["actors-update", "producers-update", "directors-update"],
    &["actors-delete", "producers-delete", "directors-delete"],
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_that_share_a_handler_share_their_needs() {
        for group in SHARED_HANDLERS {
            let routes: Vec<&Route> = group
                .iter()
                .map(|name| {
                    ROUTES
                        .iter()
                        .find(|r| r.name == *name)
                        .unwrap_or_else(|| panic!("{name} is in the route table"))
                })
                .collect();
            for route in &routes[1..] {
                assert_eq!(
                    route.needs, routes[0].needs,
                    "{} and {} share a handler but not their needs",
                    route.name, routes[0].name
                );
                assert_eq!(route.method, routes[0].method);
            }
        }
    }
}
