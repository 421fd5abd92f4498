-- Run once by the postgres image on an empty volume, as its superuser: one role per database,
-- owner of that database only (its migrations create the tables and schemas there), and no
-- database open to PUBLIC, so a service's credentials reach nothing but its own data. The
-- services share the broker's database, so they share its role. The passwords are for a local
-- run: change them here and in docker-compose.yml together.
CREATE ROLE herald_order LOGIN PASSWORD 'order-local-only';
CREATE DATABASE herald_order OWNER herald_order;
REVOKE ALL ON DATABASE herald_order FROM PUBLIC;

CREATE ROLE herald_inventory LOGIN PASSWORD 'inventory-local-only';
CREATE DATABASE herald_inventory OWNER herald_inventory;
REVOKE ALL ON DATABASE herald_inventory FROM PUBLIC;

CREATE ROLE herald_logistics LOGIN PASSWORD 'logistics-local-only';
CREATE DATABASE herald_logistics OWNER herald_logistics;
REVOKE ALL ON DATABASE herald_logistics FROM PUBLIC;

CREATE ROLE herald_broker LOGIN PASSWORD 'broker-local-only';
CREATE DATABASE herald_broker OWNER herald_broker;
REVOKE ALL ON DATABASE herald_broker FROM PUBLIC;
