export * from './lease';
export { LeaseStore } from './lease-store';
export { ActivityRecorder, type ActivityRecorderOptions } from './activity';
export { httpFeedReader, type ActivityFeedReader, type FeedReading, type FeedResult } from './activity-feed';
export { LeaseManager, type LeaseManagerOptions } from './lease-manager';
export { validateLeaseSettings } from './validate';
