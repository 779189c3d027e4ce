CREATE TABLE `sink_leases` (
	`sink` text PRIMARY KEY NOT NULL,
	`holder` text NOT NULL,
	`expires_at` integer NOT NULL
);
