/**
 * The shop's world vocabulary: product types with their category path, the nouns that stand for
 * the type (WebShop parses them from titles with spaCy; here they are given), the attribute pool,
 * the option groups and a price range. Catalogue.ts draws products from it.
 *
 * An attribute written `with X` or `for X` is the attribute `X`, phrased after the noun in
 * instructions ("a t-shirt with short sleeve"); any other attribute is an adjective before it.
 * An option group whose phrase is `pre` goes before the noun ("a blue t-shirt"); otherwise `{}`
 * in the phrase is replaced by the value, after the noun ("in size m").
 */
export interface OptionGroup {
  readonly name: string
  readonly values: ReadonlyArray<string>
  readonly phrase: string
}

export interface ProductType {
  readonly noun: string
  readonly plural: boolean
  readonly nouns: ReadonlyArray<string>
  readonly department: number
  readonly category: ReadonlyArray<string>
  readonly attributes: ReadonlyArray<string>
  readonly groups: ReadonlyArray<OptionGroup>
  readonly price: readonly [number, number]
}

export interface Department {
  readonly name: string
  /** Neutral title tails: they must contain no attribute of any type. */
  readonly tails: ReadonlyArray<string>
  /** Neutral description sentences. */
  readonly blurbs: ReadonlyArray<string>
}

export const departments: ReadonlyArray<Department> = [
  {
    name: "clothing, shoes & jewelry",
    tails: ["Everyday Basic", "Classic Style", "Unisex", "for Men and Women", "New Season"],
    blurbs: ["You will reach for it again and again.", "Designed for comfort from morning to evening.", "A wardrobe staple that pairs with anything."]
  },
  {
    name: "home & kitchen",
    tails: ["Home Decor", "for Home and Office", "Modern Design", "Gift Idea"],
    blurbs: ["Brings a warm touch to any room.", "Fits every home.", "Made to look good for years."]
  },
  {
    name: "beauty & personal care",
    tails: ["Daily Care", "Salon Formula", "for Men and Women", "Gift Idea"],
    blurbs: ["Part of a simple daily routine.", "Loved by our customers.", "Gentle and easy to use every day."]
  },
  {
    name: "grocery & gourmet food",
    tails: ["Gourmet Selection", "Pantry Staple", "Family Pack", "Party Favorite"],
    blurbs: ["Enjoy it at home or on the go.", "Right for every occasion.", "Made in small batches with care."]
  },
  {
    name: "electronics",
    tails: ["Latest Model", "2024 Edition", "Pro Series", "for Home and Travel"],
    blurbs: ["Easy to set up out of the box.", "Built for everyday use.", "Comes with a one year warranty."]
  }
]

const colors = ["black", "white", "navy blue", "grey", "red", "green", "pink", "beige", "brown", "purple", "yellow", "light blue"]
const color: OptionGroup = { name: "color", values: colors, phrase: "pre" }
const apparelSize: OptionGroup = { name: "size", values: ["xs", "s", "m", "l", "xl", "xxl"], phrase: "in size {}" }
const shoeSize: OptionGroup = { name: "size", values: ["6", "6.5", "7", "7.5", "8", "8.5", "9", "9.5", "10", "11"], phrase: "in size {}" }
const scent: OptionGroup = { name: "scent", values: ["lavender", "coconut", "tea tree", "unscented", "citrus", "rose", "eucalyptus"], phrase: "with {} scent" }

export const types: ReadonlyArray<ProductType> = [
  {
    noun: "t-shirt", plural: false, nouns: ["t-shirt"], department: 0,
    category: ["clothing, shoes & jewelry", "clothing", "shirts", "t-shirts"],
    attributes: ["cotton", "polyester", "slim fit", "relaxed fit", "machine wash", "with short sleeve", "with long sleeve", "moisture wicking", "with crew neck"],
    groups: [color, apparelSize], price: [8, 40]
  },
  {
    noun: "hoodie", plural: false, nouns: ["hoodie"], department: 0,
    category: ["clothing, shoes & jewelry", "clothing", "sweatshirts", "hoodies"],
    attributes: ["fleece lined", "cotton", "polyester", "machine wash", "with drawstring hood", "with kangaroo pocket", "relaxed fit", "slim fit", "with zipper closure"],
    groups: [color, apparelSize], price: [18, 70]
  },
  {
    noun: "jeans", plural: true, nouns: ["jeans"], department: 0,
    category: ["clothing, shoes & jewelry", "clothing", "pants", "jeans"],
    attributes: ["high waist", "slim fit", "straight leg", "machine wash", "with button closure", "distressed", "relaxed fit", "stretch denim", "bootcut"],
    groups: [
      { name: "color", values: ["light wash", "medium wash", "dark wash", "black", "grey", "white"], phrase: "pre" },
      { name: "size", values: ["28", "30", "32", "34", "36", "38", "40"], phrase: "in size {}" }
    ],
    price: [20, 90]
  },
  {
    noun: "dress", plural: false, nouns: ["dress"], department: 0,
    category: ["clothing, shoes & jewelry", "clothing", "dresses", "casual dresses"],
    attributes: ["floral print", "high waist", "with short sleeve", "with long sleeve", "with v neck", "polyester", "machine wash", "with pockets", "for daily wear"],
    groups: [color, apparelSize], price: [15, 80]
  },
  {
    noun: "running shoes", plural: true, nouns: ["running", "shoes"], department: 0,
    category: ["clothing, shoes & jewelry", "shoes", "athletic", "running shoes"],
    attributes: ["non slip", "breathable", "lightweight", "with rubber sole", "with memory foam", "with arch support", "lace up", "wide width", "cushioned"],
    groups: [color, shoeSize], price: [25, 120]
  },
  {
    noun: "socks", plural: true, nouns: ["socks"], department: 0,
    category: ["clothing, shoes & jewelry", "clothing", "socks & hosiery", "socks"],
    attributes: ["cotton", "moisture wicking", "cushioned", "no show", "breathable", "machine wash", "with arch support", "ankle length"],
    groups: [
      color,
      { name: "size", values: ["s", "m", "l", "xl"], phrase: "in size {}" },
      { name: "pack", values: ["pack of 3", "pack of 6", "pack of 12"], phrase: "in a {}" }
    ],
    price: [6, 30]
  },
  {
    noun: "winter jacket", plural: false, nouns: ["winter", "jacket"], department: 0,
    category: ["clothing, shoes & jewelry", "clothing", "coats & jackets", "winter jackets"],
    attributes: ["waterproof", "windproof", "with detachable hood", "with zipper closure", "fleece lined", "insulated", "lightweight", "packable"],
    groups: [color, apparelSize], price: [40, 200]
  },
  {
    noun: "throw pillow cover", plural: false, nouns: ["pillow", "cover"], department: 1,
    category: ["home & kitchen", "bedding", "decorative pillows", "throw pillow covers"],
    attributes: ["velvet", "linen", "with zipper closure", "machine wash", "double sided", "for living room", "hypoallergenic", "embroidered"],
    groups: [color, { name: "size", values: ["16x16 inch", "18x18 inch", "20x20 inch", "24x24 inch"], phrase: "in {}" }],
    price: [7, 35]
  },
  {
    noun: "blanket", plural: false, nouns: ["blanket"], department: 1,
    category: ["home & kitchen", "bedding", "blankets & throws", "throw blankets"],
    attributes: ["fleece", "sherpa", "machine wash", "lightweight", "all season", "hypoallergenic", "oversized", "for couch"],
    groups: [color, { name: "size", values: ["throw", "twin", "queen", "king"], phrase: "in {} size" }],
    price: [15, 80]
  },
  {
    noun: "curtains", plural: true, nouns: ["curtains"], department: 1,
    category: ["home & kitchen", "home decor", "window treatments", "curtains"],
    attributes: ["blackout", "thermal insulated", "grommet top", "machine wash", "for bedroom", "noise reducing", "linen", "rod pocket"],
    groups: [color, { name: "size", values: ["52 x 63 inch", "52 x 84 inch", "52 x 95 inch", "52 x 108 inch"], phrase: "in {}" }],
    price: [15, 70]
  },
  {
    noun: "area rug", plural: false, nouns: ["area", "rug"], department: 1,
    category: ["home & kitchen", "home decor", "rugs", "area rugs"],
    attributes: ["non slip", "machine washable", "shag", "low pile", "for living room", "stain resistant", "boho style", "easy to clean"],
    groups: [color, { name: "size", values: ["2x3 ft", "3x5 ft", "4x6 ft", "5x7 ft", "8x10 ft"], phrase: "in {}" }],
    price: [20, 250]
  },
  {
    noun: "coffee mug", plural: false, nouns: ["coffee", "mug"], department: 1,
    category: ["home & kitchen", "kitchen & dining", "drinkware", "mugs"],
    attributes: ["ceramic", "dishwasher safe", "microwave safe", "insulated", "stainless steel", "spill proof", "with handle", "large capacity"],
    groups: [color, { name: "size", values: ["11 oz", "15 oz", "20 oz"], phrase: "in {}" }],
    price: [8, 35]
  },
  {
    noun: "desk lamp", plural: false, nouns: ["desk", "lamp"], department: 1,
    category: ["home & kitchen", "lighting", "lamps", "desk lamps"],
    attributes: ["led", "dimmable", "with usb charging port", "touch control", "eye caring", "adjustable arm", "energy saving", "for home office"],
    groups: [color], price: [15, 80]
  },
  {
    noun: "towel set", plural: false, nouns: ["towel", "set"], department: 1,
    category: ["home & kitchen", "bath", "towels", "bath towel sets"],
    attributes: ["cotton", "quick dry", "absorbent", "hotel quality", "machine wash", "oversized", "fade resistant", "plush"],
    groups: [color, { name: "size", values: ["2 piece", "4 piece", "6 piece", "8 piece"], phrase: "in a {} set" }],
    price: [15, 75]
  },
  {
    noun: "shampoo", plural: false, nouns: ["shampoo"], department: 2,
    category: ["beauty & personal care", "hair care", "shampoo & conditioner", "shampoos"],
    attributes: ["sulfate free", "paraben free", "for dry hair", "natural ingredients", "cruelty free", "for color treated hair", "volumizing", "anti dandruff"],
    groups: [scent, { name: "size", values: ["8 fl oz", "12 fl oz", "16 fl oz", "33.8 fl oz"], phrase: "in {}" }],
    price: [5, 40]
  },
  {
    noun: "body lotion", plural: false, nouns: ["body", "lotion"], department: 2,
    category: ["beauty & personal care", "skin care", "body", "lotions"],
    attributes: ["for sensitive skin", "paraben free", "long lasting", "with shea butter", "non greasy", "cruelty free", "fast absorbing", "dermatologist tested"],
    groups: [scent, { name: "size", values: ["6.8 fl oz", "13.5 fl oz", "16 fl oz", "pack of 2"], phrase: "in {}" }],
    price: [5, 35]
  },
  {
    noun: "deodorant", plural: false, nouns: ["deodorant"], department: 2,
    category: ["beauty & personal care", "personal care", "deodorants & antiperspirants", "deodorants"],
    attributes: ["aluminum free", "long lasting", "for sensitive skin", "natural ingredients", "cruelty free", "travel size", "baking soda free", "vegan"],
    groups: [scent, { name: "size", values: ["2.6 oz", "3 oz", "pack of 2", "pack of 3"], phrase: "in {}" }],
    price: [4, 25]
  },
  {
    noun: "lipstick", plural: false, nouns: ["lipstick"], department: 2,
    category: ["beauty & personal care", "makeup", "lips", "lipstick"],
    attributes: ["long lasting", "matte finish", "cruelty free", "paraben free", "moisturizing", "waterproof", "vegan", "highly pigmented"],
    groups: [{ name: "color", values: ["ruby red", "nude", "hot pink", "berry", "coral", "mauve", "plum", "brick"], phrase: "in {}" }],
    price: [5, 35]
  },
  {
    noun: "perfume", plural: false, nouns: ["perfume"], department: 2,
    category: ["beauty & personal care", "fragrance", "women's", "eau de parfum"],
    attributes: ["long lasting", "travel size", "natural spray", "alcohol free", "gift set", "cruelty free", "vegan"],
    groups: [
      { name: "scent", values: ["floral", "fruity", "woody", "fresh", "vanilla", "musk", "amber"], phrase: "with {} scent" },
      { name: "size", values: ["1 fl oz", "1.7 fl oz", "3.4 fl oz"], phrase: "in {}" }
    ],
    price: [20, 150]
  },
  {
    noun: "coffee beans", plural: true, nouns: ["coffee", "beans"], department: 3,
    category: ["grocery & gourmet food", "beverages", "coffee", "whole bean coffee"],
    attributes: ["organic", "fair trade", "dark roast", "medium roast", "low acid", "decaf", "single origin", "kosher"],
    groups: [
      { name: "flavor", values: ["original", "vanilla", "hazelnut", "caramel", "mocha", "french roast"], phrase: "with {} flavor" },
      { name: "size", values: ["12 ounce", "2 pound", "5 pound", "pack of 2"], phrase: "in {}" }
    ],
    price: [8, 60]
  },
  {
    noun: "tea bags", plural: true, nouns: ["tea", "bags"], department: 3,
    category: ["grocery & gourmet food", "beverages", "tea", "tea bags"],
    attributes: ["organic", "caffeine free", "herbal", "individually wrapped", "non gmo", "sugar free", "kosher", "fair trade"],
    groups: [
      { name: "flavor", values: ["green", "chamomile", "peppermint", "earl grey", "jasmine", "ginger", "hibiscus"], phrase: "with {} flavor" },
      { name: "size", values: ["20 count", "50 count", "100 count"], phrase: "in {}" }
    ],
    price: [4, 30]
  },
  {
    noun: "protein bars", plural: true, nouns: ["protein", "bars"], department: 3,
    category: ["grocery & gourmet food", "snack foods", "bars", "protein bars"],
    attributes: ["gluten free", "low sugar", "high protein", "keto friendly", "non gmo", "vegan", "dairy free", "soy free"],
    groups: [
      { name: "flavor", values: ["chocolate", "peanut butter", "cookie dough", "vanilla", "blueberry", "salted caramel"], phrase: "with {} flavor" },
      { name: "size", values: ["pack of 6", "pack of 12", "pack of 24"], phrase: "in a {}" }
    ],
    price: [8, 50]
  },
  {
    noun: "cake mix", plural: false, nouns: ["cake", "mix"], department: 3,
    category: ["grocery & gourmet food", "pantry staples", "baking", "cake mixes"],
    attributes: ["gluten free", "dairy free", "sugar free", "organic", "non gmo", "vegan", "easy to make", "nut free"],
    groups: [
      { name: "flavor", values: ["vanilla", "chocolate", "red velvet", "lemon", "funfetti", "carrot"], phrase: "with {} flavor" },
      { name: "size", values: ["15 ounce", "pack of 3", "pack of 6"], phrase: "in {}" }
    ],
    price: [3, 30]
  },
  {
    noun: "headphones", plural: true, nouns: ["headphones"], department: 4,
    category: ["electronics", "audio", "headphones & earbuds", "over-ear headphones"],
    attributes: ["wireless", "noise cancelling", "bluetooth", "over ear", "with built-in microphone", "foldable", "fast charging", "long battery life"],
    groups: [color], price: [20, 300]
  },
  {
    noun: "phone case", plural: false, nouns: ["phone", "case"], department: 4,
    category: ["electronics", "cell phones & accessories", "cases", "phone cases"],
    attributes: ["shockproof", "slim", "with kickstand", "wireless charging compatible", "clear", "with screen protector", "anti scratch", "military grade"],
    groups: [
      color,
      { name: "model", values: ["iphone 13", "iphone 14", "iphone 15", "galaxy s22", "galaxy s23", "pixel 7"], phrase: "for {}" }
    ],
    price: [6, 40]
  },
  {
    noun: "bluetooth speaker", plural: false, nouns: ["bluetooth", "speaker"], department: 4,
    category: ["electronics", "audio", "speakers", "portable speakers"],
    attributes: ["waterproof", "portable", "stereo sound", "with built-in microphone", "long battery life", "deep bass", "shockproof", "usb c"],
    groups: [color], price: [15, 200]
  }
]

/** Attributes no product has together (the later one drawn is dropped). */
export const exclusive: ReadonlyArray<ReadonlyArray<string>> = [
  ["slim fit", "relaxed fit"],
  ["short sleeve", "long sleeve"],
  ["dark roast", "medium roast"],
  ["no show", "ankle length"],
  ["shag", "low pile"],
  ["straight leg", "bootcut"]
]

/** The attribute an attribute spec stands for: `with short sleeve` -> `short sleeve`. */
export const attributeName = (spec: string): string =>
  spec.startsWith("with ") ? spec.slice(5) : spec.startsWith("for ") ? spec.slice(4) : spec

/** Whether the spec is phrased after the noun. */
export const isPost = (spec: string): boolean => spec.startsWith("with ") || spec.startsWith("for ")

/** `a t-shirt`, `an area rug`, `jeans`. */
export const withArticle = (plural: boolean, phrase: string): string =>
  plural ? phrase : /^[aeiou]/.test(phrase) ? `an ${phrase}` : `a ${phrase}`
