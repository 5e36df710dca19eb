//! The HTTP server: one router serving every API on one loopback port, each API behind its
//! fault layer and authentication.
//!
//! To add an API, give [`AppState`] its state and nest its router in [`router`] the way FTS is
//! nested, wrapped in [`guarded`] with its own [`Api`].

use std::sync::Arc;

use axum::extract::Request;
use axum::middleware::{from_fn_with_state, Next};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::auth::{self, Auth};
use crate::config::Config;
use crate::faults::{self, Api, ApiFaults, TransferFaults};
use crate::fts::{self, Fts};
use crate::panda::{self, Panda};
use crate::storage::{self, Storage};

/// Everything the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub auth: Arc<Auth>,
    pub storage: Arc<Storage>,
    pub fts: Arc<Fts>,
    pub panda: Arc<Panda>,
}

impl AppState {
    /// Builds the services of a configuration; creates the storage folders.
    pub fn new(config: Config) -> Result<Self, String> {
        let storage = Arc::new(Storage::new(&config.storage)?);
        let transfer_faults = TransferFaults::new(config.faults.seed, &config.faults.transfers);
        let fts = Arc::new(Fts::new(
            config.fts.clone(),
            storage.clone(),
            transfer_faults,
        ));
        let auth = Arc::new(Auth::new(&config.auth.tokens));
        let panda = Panda::new(
            config.panda.clone(),
            storage.clone(),
            auth.clone(),
            &config.faults,
        )?;
        Ok(Self {
            auth,
            config: Arc::new(config),
            storage,
            fts,
            panda,
        })
    }

    /// The fault layer state of one API.
    pub fn faults(&self, api: Api) -> Arc<ApiFaults> {
        let f = &self.config.faults;
        let http = match api {
            Api::Fts => &f.fts,
            Api::Panda => &f.panda,
            Api::Storage => &f.storage,
        };
        Arc::new(ApiFaults::new(api, f.seed, http.clone()))
    }
}

/// Wraps an API's routes in authentication, then in its fault layer (faults hit before
/// authentication, as a broken front end would).
pub fn guarded(routes: Router, state: &AppState, api: Api) -> Router {
    routes
        .layer(from_fn_with_state(state.auth.clone(), auth::require))
        .layer(from_fn_with_state(state.faults(api), faults::inject))
}

/// The whole application, behind slash merging.
pub fn router(state: &AppState) -> Router {
    Router::new()
        .fallback_service(routes(state))
        .layer(axum::middleware::from_fn(merge_slashes))
}

/// Collapses repeated slashes before routing, as FTS's web framework does: the official
/// client joins its endpoint and paths with an extra slash (`/fts//jobs`).
async fn merge_slashes(mut request: Request, next: Next) -> Response {
    let uri = request.uri();
    if uri.path().contains("//") {
        let mut path = String::with_capacity(uri.path().len());
        for c in uri.path().chars() {
            if !(c == '/' && path.ends_with('/')) {
                path.push(c);
            }
        }
        let target = match uri.query() {
            Some(query) => format!("{path}?{query}"),
            None => path,
        };
        if let Ok(merged) = target.parse() {
            *request.uri_mut() = merged;
        }
    }
    next.run(request).await
}

/// Every API's routes.
fn routes(state: &AppState) -> Router {
    let storage_routes = Router::new()
        .route("/{*path}", get(storage::serve))
        .with_state(state.storage.clone());
    // Clients ask for the FTS version at `/fts/`, which a nested root route does not match.
    let fts_routes = Router::new()
        .route("/fts/", get(fts::routes::api_version))
        .nest("/fts", fts::router(state.fts.clone()));
    Router::new()
        .merge(guarded(fts_routes, state, Api::Fts))
        .nest("/storage", guarded(storage_routes, state, Api::Storage))
        // PanDA authenticates itself (bearer token with Origin, and insecure calls without
        // credentials), so only the fault layer wraps it.
        .nest(
            "/api/v1",
            panda::router(state.panda.clone())
                .layer(from_fn_with_state(state.faults(Api::Panda), faults::inject)),
        )
}
