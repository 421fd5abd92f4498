/** Metadata keys written by the decorators and read by HeraldMetadataAccessor. */
export const TRANSACTIONAL_MESSAGE_METADATA = 'herald:transactional-message';
export const MESSAGE_LISTENER_METADATA = 'herald:message-listener';

/** Injection tokens. */
export const HERALD_OPTIONS = Symbol('HERALD_OPTIONS');
export const HERALD_DATA_SOURCE = Symbol('HERALD_DATA_SOURCE');
export const HERALD_TRANSACTION_HOST = Symbol('HERALD_TRANSACTION_HOST');

/** Message property saying how the body was encoded, so listeners decode it back. */
export const ENCODING_PROPERTY = 'heraldEncoding';
