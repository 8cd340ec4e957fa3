-- Separate databases and roles per service (no shared databases), plus Temporal's own.
CREATE ROLE velora_auth LOGIN PASSWORD 'velora_auth';
CREATE DATABASE velora_auth OWNER velora_auth;
CREATE ROLE velora_wallet LOGIN PASSWORD 'velora_wallet';
CREATE DATABASE velora_wallet OWNER velora_wallet;
CREATE ROLE temporal LOGIN CREATEDB PASSWORD 'temporal';
