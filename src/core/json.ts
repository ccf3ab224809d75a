/** The default `deserialize`: JSON text frames only. */
export const parseJson = (data: unknown): unknown => {
  if (typeof data !== 'string') throw new TypeError(__DEV__ ? 'binary frame: set options.deserialize' : 'binary frame');
  return JSON.parse(data);
};
