CREATE TABLE `enrichments` (
	`ioc_id` integer NOT NULL,
	`vendor` text NOT NULL,
	`fetched_at` integer,
	`outcome` text,
	`verdict` text,
	`gap_at` integer,
	`gap` text,
	PRIMARY KEY(`ioc_id`, `vendor`),
	FOREIGN KEY (`ioc_id`) REFERENCES `iocs`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `vendor_usage` (
	`vendor` text NOT NULL,
	`day` text NOT NULL,
	`calls` integer DEFAULT 0 NOT NULL,
	`exhausted` integer DEFAULT false NOT NULL,
	PRIMARY KEY(`vendor`, `day`)
);
--> statement-breakpoint
ALTER TABLE `iocs` ADD `enrichment_due_at` integer;--> statement-breakpoint
CREATE INDEX `iocs_due` ON `iocs` (`enrichment_due_at`);