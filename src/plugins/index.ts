/**
 * Every plugin factory. Heavy libraries are imported lazily inside each plugin, so importing
 * this module stays light.
 */
export {};
