CREATE TABLE `cycle_work` (
	`cycle_id` text NOT NULL,
	`seq` integer NOT NULL,
	`ioc_id` integer NOT NULL,
	PRIMARY KEY(`cycle_id`, `seq`),
	FOREIGN KEY (`ioc_id`) REFERENCES `iocs`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `cycles` (
	`id` text PRIMARY KEY NOT NULL,
	`started_at` integer NOT NULL,
	`finished_at` integer,
	`stats` text
);
--> statement-breakpoint
CREATE TABLE `deliveries` (
	`outbox_id` integer PRIMARY KEY NOT NULL,
	`sink` text NOT NULL,
	`outcome` text NOT NULL,
	`message` text,
	`delivered_at` integer NOT NULL,
	`cycle_id` text,
	FOREIGN KEY (`outbox_id`) REFERENCES `outbox`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `iocs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`key` text NOT NULL,
	`type` text NOT NULL,
	`value` text NOT NULL,
	`first_seen` integer NOT NULL,
	`last_seen` integer NOT NULL,
	`status` text DEFAULT 'new' NOT NULL,
	`allowlist` text,
	`score` integer,
	`severity` text,
	`score_version` integer DEFAULT 0 NOT NULL,
	`scored_at` integer,
	`force_enrich` integer DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `iocs_key` ON `iocs` (`key`);--> statement-breakpoint
CREATE INDEX `iocs_score` ON `iocs` (`score`);--> statement-breakpoint
CREATE TABLE `outbox` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ioc_id` integer NOT NULL,
	`sink` text NOT NULL,
	`action` text NOT NULL,
	`score_version` integer NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`ioc_id`) REFERENCES `iocs`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `outbox_identity` ON `outbox` (`ioc_id`,`sink`,`score_version`,`action`);--> statement-breakpoint
CREATE INDEX `outbox_sink` ON `outbox` (`sink`,`id`);--> statement-breakpoint
CREATE TABLE `scores` (
	`ioc_id` integer NOT NULL,
	`version` integer NOT NULL,
	`score` integer NOT NULL,
	`severity` text NOT NULL,
	`model_version` integer NOT NULL,
	`explanation` text NOT NULL,
	`computed_at` integer NOT NULL,
	`cycle_id` text,
	PRIMARY KEY(`ioc_id`, `version`),
	FOREIGN KEY (`ioc_id`) REFERENCES `iocs`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `sightings` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ioc_id` integer NOT NULL,
	`source` text NOT NULL,
	`source_ref` text DEFAULT '' NOT NULL,
	`tags` text DEFAULT '[]' NOT NULL,
	`confidence` integer,
	`first_seen` integer NOT NULL,
	`last_seen` integer NOT NULL,
	`cycle_id` text NOT NULL,
	FOREIGN KEY (`ioc_id`) REFERENCES `iocs`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `sightings_ioc_source_ref` ON `sightings` (`ioc_id`,`source`,`source_ref`);--> statement-breakpoint
CREATE TABLE `sink_inflight` (
	`sink` text PRIMARY KEY NOT NULL,
	`state` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `source_state` (
	`source` text PRIMARY KEY NOT NULL,
	`watermark` text,
	`etag` text,
	`last_modified` text,
	`last_success_at` integer,
	`last_error` text,
	`updated_at` integer DEFAULT (unixepoch() * 1000) NOT NULL
);
