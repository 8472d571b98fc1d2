//! The answer shapes every endpoint shares, as types: handlers answer with them, and the
//! OpenAPI document (`openapi.rs`) is generated from the same types, so the two cannot part.

use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// `{"success": true, "data": …}`: the answer of every endpoint that returns one thing.
#[derive(Debug, Serialize, ToSchema)]
pub struct Data<T> {
    /// Always `true` (errors answer `false`, in the error shape).
    pub success: bool,
    pub data: T,
}

/// Answers `data` in the [`Data`] envelope.
pub fn ok<T>(data: T) -> Json<Data<T>> {
    Json(Data {
        success: true,
        data,
    })
}

/// `{"success": true}`: the answer of a deletion.
#[derive(Debug, Serialize, ToSchema)]
pub struct Done {
    /// Always `true`.
    pub success: bool,
}

pub fn done() -> Json<Done> {
    Json(Done { success: true })
}

/// `{"count": n}` inside [`Data`].
#[derive(Debug, Serialize, ToSchema)]
pub struct Count {
    pub count: i64,
}
