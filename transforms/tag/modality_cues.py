"""Wording cues for modality tags: phrases (matched as whole tokens, case-insensitive,
plurals included) -> "top/sub". STRONG cues name or imply a modality; WEAK cues
("axial", "scan", "graph") count only when a caption has no strong cue at all.
Concepts in the lexicon that carry a modality (CT, OCT, western blot ...) count as strong.
"""

from __future__ import annotations

STRONG: dict[str, str] = {
    "radiology/mri": """t1 weighted;t2 weighted;t1w;t2w;t1wi;t2wi;proton density;flair;
        fluid attenuated inversion recovery;diffusion weighted;dwi;adc map;
        apparent diffusion coefficient;hyperintense;hypointense;hyperintensity;hypointensity;
        isointense;signal intensity;high signal;low signal;gadolinium;gadolinium enhanced;
        mrcp;magnetic resonance cholangiopancreatography;susceptibility weighted;swi;
        gradient echo;spin echo;inversion recovery;stir;fat suppressed;fat saturated;
        post gadolinium;cine mri;mr spectroscopy;diffusion tensor;tractography;functional mri;
        fmri;mr venography;perfusion weighted;mri scan;mr imaging""",
    "radiology/ct": """hypodense;hyperdense;hypodensity;hyperdensity;isodense;hounsfield;
        hounsfield unit;hrct;high resolution ct;mdct;multidetector;multislice;cect;ncct;nect;
        non contrast ct;contrast enhanced ct;ct angiography;ct angiogram;cta;cbct;cone beam;
        cone beam computed tomography;ct urography;ct colonography;multiplanar reformat;
        multiplanar reconstruction;volume rendering;volume rendered;maximum intensity projection;
        ground glass;ground glass opacity;lung window;bone window;mediastinal window;
        soft tissue window;topogram;scout image;ct scanogram""",
    "radiology/ultrasound": """hypoechoic;hyperechoic;anechoic;isoechoic;echogenic;echogenicity;
        echotexture;doppler;color doppler;colour doppler;power doppler;spectral doppler;
        duplex;sonographic;sonographically;ultrasonographic;ultrasonographically;transvaginal;
        transabdominal;transrectal;endovaginal;b mode;elastography;shear wave;
        acoustic shadow;acoustic shadowing;nuchal translucency;endoscopic ultrasound;
        endoscopic ultrasonography;eus;intravascular ultrasound;ivus;m mode;
        four chamber view;parasternal;apical four chamber;sonogram""",
    "radiology/xray": """radiographic;radiographically;radiopaque;radiolucent;radiolucency;
        radio opaque;radiodense;plain film;anteroposterior view;ap view;pa view;
        posteroanterior view;lateral radiograph;orthopantomogram;orthopantomograph;opg;
        panoramic radiograph;panoramic radiography;periapical radiograph;bitewing;
        occlusal radiograph;cephalogram;lateral cephalogram;cephalometric radiograph;kub;
        skyline view;mortise view;dexa;dual energy x ray absorptiometry;skeletal survey;
        babygram;abdominal x ray;abdominal radiograph;cardiothoracic ratio""",
    "radiology/fluoroscopy": """c arm;barium swallow;barium meal;barium enema;barium study;
        barium follow through;small bowel follow through;upper gi series;
        upper gastrointestinal series;esophagram;oesophagram;esophagography;contrast swallow;
        gastrografin;contrast study;contrast enema;urethrogram;urethrography;cystogram;
        cystography;voiding cystourethrogram;vcug;micturating cystourethrogram;
        hysterosalpingogram;hysterosalpingography;hsg;fistulogram;fistulography;sinogram;
        myelogram;myelography;cholangiogram;cholangiography;intraoperative cholangiogram;
        percutaneous transhepatic cholangiography;ercp;
        endoscopic retrograde cholangiopancreatography;pyelogram;pyelography;
        retrograde pyelogram;nephrostogram;urography;intravenous urography;ivu;ivp;
        sialogram;sialography;dacryocystogram;defecography;videofluoroscopy;
        videofluoroscopic;modified barium swallow;fluoroscopic""",
    "radiology/angiography": """arteriogram;venogram;venography;phlebography;phlebogram;
        digital subtraction angiography;dsa;aortogram;aortography;lymphangiogram;
        lymphangiography;cavogram;portogram;portography;selective angiography;
        cerebral angiography;carotid angiography;pulmonary angiography;ventriculogram;
        ventriculography;catheter angiography;angiographic;angiographically""",
    "radiology/other": """arthrogram;arthrography;mr arthrography;ct arthrography;
        cross sectional imaging;multiplanar;diagnostic imaging;radiological image;
        radiologic image;radiological finding;radiologic finding;radiological examination""",
    "radiology/pet": """fdg;18f fdg;fluorodeoxyglucose;suv;suvmax;standardized uptake value;
        psma pet;hypermetabolic;fdg avid;fdg uptake""",
    "radiology/scintigraphy": """bone scan;bone scintigraphy;technetium;99mtc;tc 99m;99m tc;
        tc99m;mdp;sestamibi;mibi;mibg;octreotide scan;octreoscan;ga 67;thallium;
        ventilation perfusion scan;hida;hida scan;dmsa;mag3;thyroid scan;radioiodine;
        whole body scan;gamma camera;lymphoscintigraphy;radiotracer;tracer uptake""",
    "radiology/spect": "myocardial perfusion imaging",
    "radiology/mammography": """tomosynthesis;craniocaudal;mediolateral oblique;cc view;mlo;
        mlo view;spot compression;mammographic""",
    "microscopy/histology": """h e;hematoxylin;haematoxylin;hematoxylin eosin;
        hematoxylin and eosin;haematoxylin and eosin;he stain;he staining;eosin;histological;
        histologic;histopathological;histopathologic;pathological section;tissue section;
        paraffin section;stain;staining;stained;masson;trichrome;masson trichrome;pas;
        periodic acid schiff;giemsa;gram stain;ziehl neelsen;silver stain;grocott;gomori;
        reticulin;congo red;alcian blue;van gieson;elastic stain;toluidine blue;oil red o;
        sirius red;von kossa;perls;prussian blue;methenamine silver;mucicarmine;nissl;
        cresyl violet;in situ hybridization;original magnification;high power field;
        high power view;low power view;high power;low power;hpf;scale bar;magnification""",
    "microscopy/immunohistochemistry": """immunohistochemical;immunostained;immunostain;
        immunoreactivity;immunoreactive;immunopositive;immunolabeling;immunolabelling;
        immunoperoxidase;dab;positive staining;nuclear staining;cytoplasmic staining;
        membranous staining""",
    "microscopy/fluorescence": """immunofluorescence;immunofluorescent;fluorescence microscopy;
        fluorescent microscopy;fluorescence image;fluorescent image;confocal;
        confocal microscopy;confocal image;dapi;hoechst;gfp;green fluorescent protein;yfp;
        rfp;mcherry;tdtomato;alexa fluor;fitc;phalloidin;fluorescence in situ hybridization;
        two photon;multiphoton;live cell imaging;epifluorescence;tirf;super resolution;
        fluorescently labeled;fluorescently labelled;immunocytochemistry;immunocytochemical""",
    "microscopy/electron": """transmission electron microscopy;transmission electron micrograph;
        tem image;sem image;cryo em;cryo electron;ultrathin section;immunogold;freeze fracture""",
    "microscopy/cytology": """cytology;cytological;cytologic;smear;pap smear;papanicolaou;
        fine needle aspiration;fine needle aspirate;fna;cytospin;blood smear;
        peripheral blood smear;bone marrow aspirate;diff quik;cell block""",
    "microscopy/light": """bright field;brightfield;phase contrast;
        differential interference contrast;dark field;polarized light;polarizing microscopy;
        stereomicroscope;dissecting microscope;light micrograph;optical microscopy;microscope;
        microscopic;micrograph;photomicrograph""",
    "photography/clinical": """photograph;photo;clinical photograph;clinical picture;
        clinical photo;clinical appearance;clinical image;intraoral view;intraoral photograph;
        facial photograph;preoperative photograph;postoperative photograph""",
    "photography/gross": """gross;macroscopic;macroscopically;gross specimen;cut surface;
        resected specimen;surgical specimen;gross appearance;gross pathology;
        gross examination;excised specimen;specimen""",
    "photography/intraoperative": """intraoperative;intra operative;intraoperative view;
        intraoperative photograph;operative view;operative field;intraoperative finding;
        surgical field""",
    "photography/dermoscopy": """dermoscopy;dermoscopic;dermatoscopy;dermatoscopic;
        dermoscopic image""",
    "ophthalmology/fundus": """fundus;fundus photograph;fundus photography;fundus image;
        fundoscopy;funduscopy;fundoscopic;funduscopic;color fundus;retinal photograph;
        fundus autofluorescence;autofluorescence;wide field;ultra widefield""",
    "ophthalmology/angiography": """fluorescein angiography;fluorescein angiogram;
        fundus fluorescein angiography;indocyanine green angiography;icga;ffa;
        oct angiography""",
    "ophthalmology/slit_lamp": """slit lamp;slit lamp photograph;slit lamp examination;
        biomicroscopy;anterior segment photograph;gonioscopy;corneal topography""",
    "endoscopy/gastrointestinal": """gastroscopy;gastroscopic;esophagogastroduodenoscopy;egd;
        upper endoscopy;upper gastrointestinal endoscopy;enteroscopy;capsule endoscopy;
        duodenoscopy;colonoscopic;narrow band imaging;chromoendoscopy""",
    "endoscopy/bronchoscopy": """bronchoscopic;laryngoscopy;laryngoscopic;nasendoscopy;
        nasal endoscopy""",
    "endoscopy/laparoscopy": "laparoscopic;thoracoscopy;thoracoscopic",
    "endoscopy/arthroscopy": "arthroscopic",
    "endoscopy/cystoscopy": "cystoscopic;ureteroscopy;hysteroscopy;hysteroscopic",
    "endoscopy/other": "endoscopic;endoscopically;colposcopy;colposcopic;otoscopy;otoscopic",
    "chart/bar": "bar graph;bar chart;bar plot;bar diagram;column chart",
    "chart/histogram": "histogram",
    "chart/line": "line graph;line chart;line plot;time course;growth curve",
    "chart/scatter": "scatter plot;scatterplot;scatter diagram;bland altman;regression line",
    "chart/survival": """kaplan meier;kaplan meier curve;survival curve;survival analysis;
        cumulative incidence;overall survival;progression free survival;disease free survival;
        log rank""",
    "chart/box": "box plot;boxplot;box and whisker;whisker;violin plot",
    "chart/heatmap": "heat map;heatmap;hierarchical clustering",
    "chart/roc": "roc curve;receiver operating characteristic;area under the curve",
    "chart/forest": "forest plot;funnel plot",
    "chart/pie": "pie chart;pie graph;donut chart",
    "chart/signal": """tracing;electrophysiological recording;action potential;patch clamp;
        evoked potential;spectrogram;waveform;cardiotocography;polysomnography;audiogram;
        tympanogram;spirometry;flow volume loop;pressure tracing""",
    "chart/other": "graph;plot;chart;error bar;x axis;y axis",
    "molecular/western_blot": "blot;loading control;densitometry;densitometric;gapdh",
    "molecular/gel": """agarose gel;agarose gel electrophoresis;gel;sds page;sds polyacrylamide;
        polyacrylamide gel;native page;2d gel;two dimensional gel;zymography;zymogram;emsa;
        electrophoretic mobility shift;gel shift;pcr product;amplicon;dna ladder;
        southern blot;northern blot;dot blot;slot blot;pulsed field gel;pfge;coomassie""",
    "molecular/sequence": """sequence alignment;multiple sequence alignment;alignment;
        aligned sequences;sequencing chromatogram;chromatogram;electropherogram;
        sanger sequencing;sequence logo;amino acid sequence;consensus sequence""",
    "molecular/structure": """crystal structure;ribbon diagram;ribbon representation;
        cartoon representation;molecular structure;three dimensional structure;3d structure;
        molecular model;molecular docking;homology model;surface representation;
        electrostatic potential;protein structure;structural model""",
    "molecular/other": """mass spectrometry;mass spectrum;nmr spectrum;chromatography;hplc;
        microarray""",
    "illustration/diagram": """schematic;schematic diagram;schematic representation;
        schematic illustration;schematic overview;schematic model;schema;scheme;diagram;
        proposed model;working model;hypothetical model;signaling pathway;signalling pathway;
        proposed mechanism;graphical abstract;infographic""",
    "illustration/flowchart": """flow chart;flowchart;flow diagram;consort;consort diagram;
        prisma;study flow;algorithm;workflow;study design;decision tree;timeline;
        patient selection""",
    "illustration/drawing": """drawing;line drawing;illustration;cartoon;sketch;artist;
        anatomical drawing""",
    "other/table": "table",
    "other/screenshot": """screenshot;screen shot;screen capture;user interface;
        graphical user interface;software interface;web page;website""",
}

WEAK: dict[str, str] = {
    "radiology/other": """axial;coronal;sagittal;transverse image;transverse view;axial image;
        scan;imaging;enhancement;enhancing;contrast enhanced;contrast enhancement;
        post contrast;postcontrast;precontrast;pre contrast;arterial phase;venous phase;
        portal venous phase;delayed phase;non enhanced;unenhanced;reconstruction;
        radiological;radiologic;radiology;consolidation;opacification;calcification;
        attenuation;lateral view;oblique view;supine;erect""",
    "radiology/xray": "opacity;opacities",
    "microscopy/histology": "biopsy;infiltrate;infiltration;section;sections",
    "microscopy/light": "cells;colonies;colony;tissue",
    "chart/other": """curve;error bars;standard deviation;standard error;sem;mean;quantification;
        fold change;relative expression;statistically significant;significant difference;
        percentage;distribution;correlation;comparison""",
    "illustration/diagram": "model;pathway;mechanism;overview;map",
    "photography/clinical": "appearance;skin",
    "molecular/gel": "lane;lanes;band;bands",
}
