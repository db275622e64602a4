/** What processUpload learns about an upload; shared by the image and video readers. */
export const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/gif'] as const;
export const VIDEO_TYPES = ['video/mp4', 'video/quicktime'] as const;
export const ALLOWED_TYPES = [...IMAGE_TYPES, ...VIDEO_TYPES] as const;
export type AllowedType = (typeof ALLOWED_TYPES)[number];
export type MediaKind = 'image' | 'video';

export const kindOf = (contentType: string): MediaKind | undefined =>
  (IMAGE_TYPES as readonly string[]).includes(contentType) ? 'image' : (VIDEO_TYPES as readonly string[]).includes(contentType) ? 'video' : undefined;

export interface GeoLocation {
  latitude: number;
  longitude: number;
  altitude?: number;
}

export interface Camera {
  make?: string;
  model?: string;
}

export interface ImageInfo {
  /** As displayed: EXIF orientation applied (5–8 swap width and height). */
  width: number;
  height: number;
  orientation?: number;
  takenAt?: string;
  camera?: Camera;
  location?: GeoLocation;
}

export interface VideoInfo {
  width: number;
  height: number;
  /** Absent when the file's duration is unknown or not believable (ranges.ts). */
  durationSeconds?: number;
  takenAt?: string;
}

/** Reads byte ranges of an object: lets the video reader fetch only the boxes it needs. */
export interface RangeReader {
  size: number;
  read(start: number, end: number): Promise<Buffer>;
}

/** The bytes are not a decodable image or video of the declared kind: the upload is rejected. */
export class UnreadableMedia extends Error {
  override readonly name: string = 'UnreadableMedia';
}
