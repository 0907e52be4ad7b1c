"""Images in, pixel arrays and metadata out: DICOM / PNG / JPEG reading, the display pipeline
(Modality LUT, VOI LUT, presentation), study-folder scanning, thumbnails and measurements.

numpy, pydicom and Pillow only; never Qt, never torch.
"""
