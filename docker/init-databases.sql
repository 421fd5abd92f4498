-- Run once by the postgres image on an empty volume: one database per service, and the broker's.
CREATE DATABASE herald_order;
CREATE DATABASE herald_inventory;
CREATE DATABASE herald_logistics;
CREATE DATABASE herald_broker;
