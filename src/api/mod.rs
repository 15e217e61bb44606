//! The JSON front ends: `/api/v1`, the seed's endpoints, and the OpenAPI document describing both.

pub mod conditional;
pub mod docs;
pub mod json;
pub mod problem;
pub mod seed;
pub mod v1;
