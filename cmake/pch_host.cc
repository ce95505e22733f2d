// The host of a precompiled header (cmake/ThanosLayer.cmake): the sources reuse what is compiled
// for it; nothing is compiled here.
